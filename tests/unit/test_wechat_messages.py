"""Callback bodies → models: JSON and XML, plain and encrypted, and the bodies that must be refused."""
from __future__ import annotations

import json

import pytest

from providers.wechat.callback import CallbackDecoder
from providers.wechat.crypto import DecryptError, MessageCipher, SignatureInvalid, signature
from providers.wechat.messages import (BodyTooLarge, ImageMessage, MiniProgramPageMessage, ParseError,
                                       SessionEnterEvent, TextMessage, UnknownMessage, parse_message)
from providers.wechat.messages import to_xml

KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wx2c2769f8efd9abc2"
COMMON = {"ToUserName": "gh_5f0c1e2d3b4a", "FromUserName": "oUser123", "CreateTime": 1800000000}
TEXT = {**COMMON, "MsgType": "text", "Content": "身份证过期了咋办", "MsgId": 24000000000000001}
IMAGE = {**COMMON, "MsgType": "image", "PicUrl": "http://mmbiz.qpic.cn/x", "MediaId": "media-1",
         "MsgId": 24000000000000002}
PAGE = {**COMMON, "MsgType": "miniprogrampage", "Title": "社保卡办理", "AppId": "wx5f0c1e2d3b4a6978",
        "PagePath": "pages/item?id=1", "ThumbUrl": "http://mmbiz.qpic.cn/t", "ThumbMediaId": "thumb-1",
        "MsgId": 24000000000000003}
ENTER = {**COMMON, "MsgType": "event", "Event": "user_enter_tempsession", "SessionFrom": "item:GA001"}


DEEP_JSON = json.loads('{"a":' * 500 + "1" + "}" * 500)


def as_json(fields: dict) -> bytes:
    return json.dumps(fields, ensure_ascii=False).encode()


def as_xml(fields: dict) -> bytes:
    return to_xml(fields).encode()


@pytest.mark.parametrize("encode", [as_json, as_xml], ids=["json", "xml"])
def test_every_message_type(encode) -> None:
    text = parse_message(encode(TEXT))
    assert isinstance(text, TextMessage)
    assert (text.Content, text.openid, text.CreateTime) == ("身份证过期了咋办", "oUser123", 1800000000)
    assert text.dedupe_key == "msg:24000000000000001"

    image = parse_message(encode(IMAGE))
    assert isinstance(image, ImageMessage) and image.MediaId == "media-1" and image.PicUrl.startswith("http")

    page = parse_message(encode(PAGE))
    assert isinstance(page, MiniProgramPageMessage)
    assert (page.Title, page.PagePath, page.ThumbMediaId) == ("社保卡办理", "pages/item?id=1", "thumb-1")
    assert page.dedupe_key == "msg:24000000000000003"

    enter = parse_message(encode(ENTER))
    assert isinstance(enter, SessionEnterEvent) and enter.SessionFrom == "item:GA001"
    assert enter.dedupe_key == "evt:oUser123:1800000000"


def test_unknown_types_keep_their_fields() -> None:
    voice = parse_message(as_json({**COMMON, "MsgType": "voice", "MediaId": "v1", "Format": "amr", "MsgId": 7}))
    assert isinstance(voice, UnknownMessage) and voice.dedupe_key == "msg:7"
    assert voice.model_extra == {"MediaId": "v1", "Format": "amr"}
    other_event = parse_message(as_xml({**COMMON, "MsgType": "event", "Event": "kf_close_session"}))
    assert isinstance(other_event, UnknownMessage) and other_event.Event == "kf_close_session"
    assert other_event.dedupe_key == "evt:oUser123:1800000000"


def test_format_is_sniffed_whatever_the_content_type() -> None:
    assert isinstance(parse_message(b"  \n" + as_xml(TEXT), "application/json"), TextMessage)
    assert isinstance(parse_message(b"\xef\xbb\xbf" + as_json(TEXT), "text/xml"), TextMessage)


@pytest.mark.parametrize("encode", [as_json, as_xml], ids=["json", "xml"])
def test_encrypted_envelope(encode) -> None:
    cipher = MessageCipher(KEY, APPID)
    envelope = {"ToUserName": "gh_5f0c1e2d3b4a", "Encrypt": cipher.encrypt(encode(TEXT))}
    message = parse_message(encode(envelope), cipher=cipher)
    assert isinstance(message, TextMessage) and message.Content == "身份证过期了咋办"
    with pytest.raises(ParseError, match="EncodingAESKey"):
        parse_message(encode(envelope))
    with pytest.raises(DecryptError):
        parse_message(encode(envelope), cipher=MessageCipher(KEY, "wx_other_app"))


def test_plain_callbacks_need_the_signature_and_can_be_forbidden() -> None:
    decoder = CallbackDecoder("tok", clock=lambda: 1800000000)
    query = {"timestamp": "1800000000", "nonce": "42", "signature": signature("tok", "1800000000", "42")}
    assert isinstance(decoder.decode(query, as_json(TEXT)), TextMessage)
    with pytest.raises(SignatureInvalid):
        decoder.decode({**query, "signature": signature("tok", "1800000000", "43")}, as_json(TEXT))
    strict = CallbackDecoder("tok", MessageCipher(KEY, APPID), require_encryption=True, clock=lambda: 1800000000)
    with pytest.raises(ParseError, match="safe mode"):
        strict.decode(query, as_json(TEXT))
    assert decoder.verify_url({**query, "echostr": "abc"}) == "abc"


@pytest.mark.parametrize("body", [b"<a>" * 2500 + b"</a>" * 2500, b"<xml><ToUserName>broken", b"{" * 5000],
                         ids=["deep-xml", "malformed", "deep-json"])
def test_an_unsigned_body_is_refused_before_it_is_parsed(body: bytes) -> None:
    decoder = CallbackDecoder("tok", MessageCipher(KEY, APPID), clock=lambda: 1800000000)
    for query in ({"timestamp": "1800000000", "nonce": "42"},
                  {"timestamp": "1800000000", "nonce": "42", "signature": "f" * 40, "msg_signature": "f" * 40}):
        with pytest.raises(SignatureInvalid):
            decoder.decode(query, body)


def test_a_plain_message_with_only_a_msg_signature_is_refused() -> None:
    decoder = CallbackDecoder("tok", MessageCipher(KEY, APPID), clock=lambda: 1800000000)
    query = {"timestamp": "1800000000", "nonce": "42", "msg_signature": signature("tok", "1800000000", "42")}
    with pytest.raises(SignatureInvalid):
        decoder.decode(query, as_json(TEXT))


XXE = (b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       b'<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>'
       b'<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>')
EXTERNAL_DTD = b'<?xml version="1.0"?><!DOCTYPE xml SYSTEM "http://127.0.0.1:9/evil.dtd"><xml><a>1</a></xml>'
LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                     for i in range(1, 10))
          + b']><xml><Content>&lol9;</Content></xml>')


@pytest.mark.parametrize("body", [XXE, EXTERNAL_DTD, LAUGHS], ids=["xxe", "external-dtd", "billion-laughs"])
def test_dangerous_xml_is_refused(body: bytes) -> None:
    with pytest.raises(ParseError, match="unsafe XML") as refused:
        parse_message(body)
    assert "root:" not in str(refused.value)


def test_dangerous_xml_inside_an_encrypted_envelope_is_refused() -> None:
    cipher = MessageCipher(KEY, APPID)
    with pytest.raises(ParseError, match="unsafe XML"):
        parse_message(as_json({"ToUserName": "gh", "Encrypt": cipher.encrypt(LAUGHS)}), cipher=cipher)


@pytest.mark.parametrize("body", [
    b"", b"   ", b"hello", b"{not json", b"[1, 2]", b'"text"', b"<xml><Content>unclosed</xml>",
    b"<xml/>", b"{" * 5000 + b"}" * 5000, b"<a>" * 2500 + b"</a>" * 2500, as_json(DEEP_JSON),
    as_json({**TEXT, "Content": None}),
    as_json({key: value for key, value in TEXT.items() if key != "FromUserName"}),
    as_json({**IMAGE, "MediaId": {"nested": "dict"}}), as_json({"Encrypt": 12}),
], ids=["empty", "blank", "neither", "bad-json", "json-array", "json-string", "bad-xml", "empty-xml",
        "deep-json", "deep-xml", "deep-json-object", "null-content", "no-sender", "nested-field", "encrypt-not-string"])
def test_malformed_bodies(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_message(body, max_bytes=20_000)


def test_oversized_bodies() -> None:
    big = as_json({**TEXT, "Content": "长" * 30_000})
    with pytest.raises(BodyTooLarge):
        parse_message(big)
    assert isinstance(parse_message(big, max_bytes=len(big)), TextMessage)
    with pytest.raises(BodyTooLarge):
        parse_message(as_xml({**TEXT, "Content": "x" * 70_000}))
    with pytest.raises(BodyTooLarge):  # checked before parsing: a huge body is never parsed
        parse_message(b"<xml>" + b"<a>1</a>" * 10_000 + b"</xml>", max_bytes=1024)
