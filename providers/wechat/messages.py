"""Incoming customer-service callback bodies → pydantic models.

A body is JSON or XML (decided by its first non-space byte, the Content-Type only breaking ties), plain or
an encrypted envelope (a body with an `Encrypt` field, whose decrypted payload is parsed the same way).
XML goes through defusedxml with DTDs, entities and external references forbidden, so XXE and
billion-laughs bodies are refused with a ParseError before anything is expanded; a body nested deeper than
MAX_DEPTH levels (XML or JSON) is refused before it is converted.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal
from xml.etree.ElementTree import Element
from xml.etree.ElementTree import ParseError as XmlSyntaxError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring
from pydantic import BaseModel, ConfigDict, ValidationError

from providers.wechat.crypto import CallbackRejected, MessageCipher

DEFAULT_MAX_BYTES = 64 * 1024
MAX_DEPTH = 8
_BOM = b"\xef\xbb\xbf"


class ParseError(CallbackRejected):
    """The body is not a well-formed, safe callback message."""


class BodyTooLarge(ParseError):
    """The body (or the decrypted payload) is larger than the limit."""


class _Message(BaseModel):
    """Fields common to every callback message."""

    model_config = ConfigDict(coerce_numbers_to_str=True, frozen=True, extra="ignore")

    ToUserName: str
    FromUserName: str
    CreateTime: int
    MsgType: str

    @property
    def openid(self) -> str:
        """The sender's openid (FromUserName)."""
        return self.FromUserName

    @property
    def dedupe_key(self) -> str:
        """"msg:<MsgId>" for messages, "evt:<FromUserName>:<CreateTime>" for events (WeChat's retry key)."""
        msg_id = getattr(self, "MsgId", None)
        return f"msg:{msg_id}" if msg_id else f"evt:{self.FromUserName}:{self.CreateTime}"


class TextMessage(_Message):
    MsgType: Literal["text"]
    Content: str
    MsgId: str


class ImageMessage(_Message):
    MsgType: Literal["image"]
    PicUrl: str = ""
    MediaId: str
    MsgId: str


class MiniProgramPageMessage(_Message):
    """A mini-program card the user sent into the chat."""

    MsgType: Literal["miniprogrampage"]
    Title: str = ""
    AppId: str = ""
    PagePath: str = ""
    ThumbUrl: str = ""
    ThumbMediaId: str = ""
    MsgId: str


class SessionEnterEvent(_Message):
    """The user opened the customer-service session (SessionFrom is the button's session-from)."""

    MsgType: Literal["event"]
    Event: Literal["user_enter_tempsession"]
    SessionFrom: str = ""


class UnknownMessage(_Message):
    """Any other message or event; every field is kept."""

    model_config = ConfigDict(extra="allow")
    MsgId: str | None = None
    Event: str | None = None


IncomingMessage = TextMessage | ImageMessage | MiniProgramPageMessage | SessionEnterEvent | UnknownMessage

_BY_TYPE: dict[str, type[_Message]] = {
    "text": TextMessage, "image": ImageMessage, "miniprogrampage": MiniProgramPageMessage,
}


def _check_depth(root: object) -> None:
    """Refuse a body nested deeper than MAX_DEPTH (a message nests 4 levels at most), walking without recursion."""
    level: list[object] = [root]
    for _ in range(MAX_DEPTH):
        level = [child for node in level for child in _children(node)]
        if not level:
            return
    raise ParseError(f"body nested deeper than {MAX_DEPTH} levels")


def _children(node: object) -> list[object]:
    if isinstance(node, Element):
        return list(node)
    if isinstance(node, dict):
        return list(node.values())
    if isinstance(node, list):
        return node
    return []


def _xml_to_value(element: Element) -> Any:
    """A leaf's text exactly as sent (CDATA included), or a dict of the children."""
    children = list(element)
    if not children:
        return element.text or ""
    return {child.tag: _xml_to_value(child) for child in children}


def _parse_xml(body: bytes) -> dict[str, Any]:
    try:
        root = safe_fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ParseError(f"unsafe XML refused ({type(exc).__name__}: DTDs, entities and external "
                         f"references are not allowed)") from None
    except XmlSyntaxError as exc:
        raise ParseError(f"malformed XML: {exc}") from None
    _check_depth(root)
    value = _xml_to_value(root)
    if not isinstance(value, dict):
        raise ParseError("XML body has no fields")
    return value


def _parse_json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"malformed JSON: {type(exc).__name__}") from None
    if not isinstance(value, dict):
        raise ParseError("JSON body is not an object")
    _check_depth(value)
    return value


def parse_fields(body: bytes, content_type: str | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, Any]:
    """The body's fields as a dict (JSON object or the children of the XML root), size-checked first."""
    if len(body) > max_bytes:
        raise BodyTooLarge(f"body of {len(body)} bytes exceeds {max_bytes}")
    stripped = body.removeprefix(_BOM).lstrip()
    first = stripped[:1]
    if first == b"{":
        return _parse_json(stripped)
    if first == b"<":
        return _parse_xml(stripped)
    kind = (content_type or "").lower()
    if "json" in kind:
        return _parse_json(stripped)
    if "xml" in kind:
        return _parse_xml(stripped)
    raise ParseError("body is neither JSON nor XML")


def message_from_fields(fields: dict[str, Any]) -> IncomingMessage:
    """The model for a decoded message's fields; UnknownMessage for types we do not handle."""
    msg_type = fields.get("MsgType")
    model: type[_Message] = _BY_TYPE.get(msg_type, UnknownMessage) if isinstance(msg_type, str) else UnknownMessage
    if msg_type == "event" and fields.get("Event") == "user_enter_tempsession":
        model = SessionEnterEvent
    try:
        return model.model_validate(fields)  # type: ignore[return-value]
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ParseError(f"invalid {msg_type or 'message'}: {problems}") from None


def encrypted_field(fields: dict[str, Any]) -> str | None:
    """The envelope's Encrypt value, or None for a plain message."""
    value = fields.get("Encrypt")
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ParseError("Encrypt is empty or not a string")
    return value


def open_envelope(encrypt: str, cipher: MessageCipher, *, max_bytes: int = DEFAULT_MAX_BYTES) -> IncomingMessage:
    """Decrypt an envelope's Encrypt value (DecryptError) and parse the message inside (ParseError)."""
    return message_from_fields(parse_fields(cipher.decrypt(encrypt), max_bytes=max_bytes))


def parse_message(body: bytes, content_type: str | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES,
                  cipher: MessageCipher | None = None) -> IncomingMessage:
    """Parse a callback body, decrypting an encrypted envelope with `cipher`.

    Signatures are not checked here (see providers.wechat.callback.CallbackDecoder, which checks
    msg_signature over the Encrypt value before decrypting)."""
    fields = parse_fields(body, content_type, max_bytes=max_bytes)
    encrypt = encrypted_field(fields)
    if encrypt is None:
        return message_from_fields(fields)
    if cipher is None:
        raise ParseError("encrypted message but no EncodingAESKey configured")
    return open_envelope(encrypt, cipher, max_bytes=max_bytes)


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def to_xml(fields: Mapping[str, Any], root: str = "xml") -> str:
    """WeChat's XML form of a message: numbers bare, strings in CDATA, dicts nested."""
    parts = [f"<{root}>"]
    for name, value in fields.items():
        if isinstance(value, Mapping):
            parts.append(to_xml(value, name))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            parts.append(f"<{name}>{value}</{name}>")
        else:
            parts.append(f"<{name}>{_cdata(str(value))}</{name}>")
    parts.append(f"</{root}>")
    return "".join(parts)


def serialize(fields: Mapping[str, Any], fmt: str) -> str:
    """A message (or envelope) as WeChat writes it: fmt is json or xml."""
    if fmt == "json":
        return json.dumps(fields, ensure_ascii=False)
    if fmt == "xml":
        return to_xml(fields)
    raise ValueError(f"fmt must be json or xml, not {fmt!r}")
