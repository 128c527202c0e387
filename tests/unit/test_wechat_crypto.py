"""Callback signatures, timestamp freshness and safe-mode AES, against WeChat's published vectors."""
from __future__ import annotations

import hashlib

import pytest

from providers.wechat.callback import CallbackDecoder
from providers.wechat.crypto import (DecryptError, MessageCipher, SignatureInvalid, StaleTimestamp,
                                     check_msg_signature, check_signature, check_timestamp, signature)
from providers.wechat.messages import TextMessage

# From WeChat's WXBizMsgCrypt samples (Java WXBizMsgCryptTest.testAesEncrypt): fixed random prefix.
KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
VECTOR_APPID = "wxb11529c136998cb6"
VECTOR_RANDOM = b"aaaabbbbccccdddd"
VECTOR_PLAIN = "我是中文abcd123"
VECTOR_CIPHER = "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="

# From the Python sample (Sample.py): a pushed message, its msg_signature and its decrypted XML.
SAMPLE_TOKEN, SAMPLE_TIMESTAMP, SAMPLE_NONCE = "spamtest", "1409735669", "1320562132"
SAMPLE_APPID = "wx2c2769f8efd9abc2"
SAMPLE_MSG_SIGNATURE = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
SAMPLE_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2L"
    "dJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6u"
    "x5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJ"
    "pXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCz"
    "pu9GhglF2PE=")
SAMPLE_PLAIN = ("<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n"
                "<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n"
                "<CreateTime>1409735668</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n"
                "<Content><![CDATA[abcdteT]]></Content>\n<MsgId>6054768590064713728</MsgId>\n</xml>")


def test_signature_is_sha1_of_the_sorted_parts() -> None:
    expected = hashlib.sha1("".join(sorted(["tok", "1700000000", "nonce1"])).encode()).hexdigest()
    assert signature("tok", "1700000000", "nonce1") == expected
    check_signature("tok", "1700000000", "nonce1", expected)
    check_signature("tok", "1700000000", "nonce1", expected.upper())


@pytest.mark.parametrize("forged", ["", None, "0" * 40, signature("tok", "1700000001", "nonce1"),
                                    signature("other-token", "1700000000", "nonce1")])
def test_forged_signature_is_refused(forged: str | None) -> None:
    with pytest.raises(SignatureInvalid):
        check_signature("tok", "1700000000", "nonce1", forged)


def test_msg_signature_of_the_official_sample() -> None:
    check_msg_signature(SAMPLE_TOKEN, SAMPLE_TIMESTAMP, SAMPLE_NONCE, SAMPLE_ENCRYPT, SAMPLE_MSG_SIGNATURE)
    with pytest.raises(SignatureInvalid):  # the body was changed
        check_msg_signature(SAMPLE_TOKEN, SAMPLE_TIMESTAMP, SAMPLE_NONCE, SAMPLE_ENCRYPT[:-4] + "AAA=",
                            SAMPLE_MSG_SIGNATURE)
    with pytest.raises(SignatureInvalid):  # a plain signature is not a msg_signature
        check_msg_signature(SAMPLE_TOKEN, SAMPLE_TIMESTAMP, SAMPLE_NONCE, SAMPLE_ENCRYPT,
                            signature(SAMPLE_TOKEN, SAMPLE_TIMESTAMP, SAMPLE_NONCE))


def test_timestamp_window() -> None:
    now = 1_800_000_000.0
    check_timestamp("1800000000", 300, now)
    check_timestamp(int(now) - 299, 300, now)
    check_timestamp(int(now) + 299, 300, now)
    for stale in (int(now) - 301, int(now) + 301, "0", "soon", ""):
        with pytest.raises(StaleTimestamp):
            check_timestamp(stale, 300, now)


def test_official_encrypt_vector() -> None:
    cipher = MessageCipher(KEY, VECTOR_APPID)
    assert cipher.encrypt(VECTOR_PLAIN, random_prefix=VECTOR_RANDOM) == VECTOR_CIPHER
    assert cipher.decrypt(VECTOR_CIPHER).decode() == VECTOR_PLAIN


def test_official_decrypt_sample() -> None:
    assert MessageCipher(KEY, SAMPLE_APPID).decrypt(SAMPLE_ENCRYPT).decode() == SAMPLE_PLAIN


@pytest.mark.parametrize("size", [0, 1, 11, 12, 43, 44, 1000])
def test_round_trip_pads_to_32_byte_blocks(size: int) -> None:
    cipher = MessageCipher(KEY, VECTOR_APPID)
    message = ("政" * size).encode()
    encrypted = cipher.encrypt(message)
    assert cipher.decrypt(encrypted) == message
    assert cipher.encrypt(message) != encrypted  # a fresh random prefix every time


def test_wrong_appid_is_refused() -> None:
    encrypted = MessageCipher(KEY, "wx_other_app").encrypt("hello")
    with pytest.raises(DecryptError, match="appid"):
        MessageCipher(KEY, VECTOR_APPID).decrypt(encrypted)
    with pytest.raises(DecryptError):
        MessageCipher(KEY, SAMPLE_APPID).decrypt(VECTOR_CIPHER)


def test_wrong_key_and_garbage_are_refused() -> None:
    other_key = "A" * 43
    with pytest.raises(DecryptError):
        MessageCipher(other_key, SAMPLE_APPID).decrypt(SAMPLE_ENCRYPT)
    cipher = MessageCipher(KEY, SAMPLE_APPID)
    for garbage in ("!!!not-base64!!!", "YWJj", "", "AAAAAAAAAAAAAAAAAAAAAA=="):
        with pytest.raises(DecryptError):
            cipher.decrypt(garbage)


def test_bad_encoding_aes_key() -> None:
    with pytest.raises(ValueError):
        MessageCipher("abcde", VECTOR_APPID)
    with pytest.raises(ValueError):
        MessageCipher("!" * 43, VECTOR_APPID)


def test_official_sample_through_the_callback_decoder() -> None:
    """The body, query and keys of WeChat's Python sample (Sample.py), checked and decrypted end to end."""
    decoder = CallbackDecoder(SAMPLE_TOKEN, MessageCipher(KEY, SAMPLE_APPID), clock=lambda: 1409735669)
    query = {"timestamp": SAMPLE_TIMESTAMP, "nonce": SAMPLE_NONCE, "encrypt_type": "aes",
             "msg_signature": SAMPLE_MSG_SIGNATURE}
    body = (f"<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>"
            f"<Encrypt><![CDATA[{SAMPLE_ENCRYPT}]]></Encrypt></xml>")
    message = decoder.decode(query, body.encode(), "text/xml")
    assert isinstance(message, TextMessage)
    assert (message.Content, message.MsgId, message.openid) == ("abcdteT", "6054768590064713728",
                                                                "oyORnuP8q7ou2gfYjqLzSIWZf0rs")
    with pytest.raises(SignatureInvalid):
        decoder.decode({**query, "msg_signature": "0" * 40}, body.encode())
    with pytest.raises(StaleTimestamp):
        CallbackDecoder(SAMPLE_TOKEN, MessageCipher(KEY, SAMPLE_APPID)).decode(query, body.encode())
