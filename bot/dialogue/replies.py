"""Typed replies: the public contract the mini-program and the H5 page render."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal, Union

from pydantic import BaseModel, Field


class Option(BaseModel):
    label: str
    value: str


class Progress(BaseModel):
    current: int
    total: int


class TextReply(BaseModel):
    type: Literal["text"] = "text"
    text: str


class ChoicesReply(BaseModel):
    type: Literal["choices"] = "choices"
    text: str
    options: list[Option]


class FormStepReply(BaseModel):
    """Ask for one field. `input` tells the client which keyboard/picker to show."""

    type: Literal["form_step"] = "form_step"
    key: str
    label: str
    input: str
    text: str
    hint: str | None = None
    options: list[Option] = Field(default_factory=list)
    current_value: str | None = Field(default=None, description="Earlier answer, masked if sensitive")
    progress: Progress


class MaterialStepReply(BaseModel):
    """Ask for one material: upload, or one of the options (电子证照, 容缺, 告知承诺, 跳过)."""

    type: Literal["material_step"] = "material_step"
    key: str
    name: str
    text: str
    required: bool
    accept: list[str]
    max_bytes: int
    upload_label: str = Field(description="The upload button's label (prompt material_upload)")
    options: list[Option] = Field(default_factory=list)
    progress: Progress


class CardField(BaseModel):
    label: str
    value: str
    reveal: str | None = Field(default=None, description="The citizen's own value in full, shown on a tap; only "
                               "in the confirm card of their own session (身份证号 stays partly masked)")
    more: bool | None = Field(default=None, description="True: shown behind 「查看更多」 (长辈模式 item cards open "
                              "with the essentials: what to bring, where, how long, the cost)")


class CardReply(BaseModel):
    type: Literal["card"] = "card"
    title: str
    fields: list[CardField] = Field(default_factory=list)
    actions: list[Option] = Field(default_factory=list)


class PaymentReply(BaseModel):
    """A fee to pay. WeChat Pay: call wx.requestPayment with `request` as it is. Sandbox: POST
    /api/v1/payments/sandbox/{out_trade_no}/confirm stands in for the payer paying."""

    type: Literal["payment"] = "payment"
    text: str
    case_number: str
    amount: str = Field(description="Yuan, two decimals")
    out_trade_no: str
    provider: str
    request: dict[str, str]


Reply = Annotated[Union[TextReply, ChoicesReply, FormStepReply, MaterialStepReply, CardReply, PaymentReply],
                  Field(discriminator="type")]


class ChatResponse(BaseModel):
    replies: list[Reply]


def reply_json(reply: Reply) -> bytes:
    """One reply's JSON with None left out, by the reply's own serializer (it is valid already)."""
    return reply.__pydantic_serializer__.to_json(reply, exclude_none=True)


def response_json(replies: list[Reply], known: Mapping[int, tuple[Reply, bytes]] | None = None) -> bytes:
    """The JSON of ChatResponse(replies=replies) with None left out, a third of the cost of building one.
    `known` holds the JSON of shared replies by their id() (see Content.card); an entry counts only for the
    very object it holds."""
    parts = []
    for reply in replies:
        entry = known.get(id(reply)) if known else None
        parts.append(entry[1] if entry is not None and entry[0] is reply else reply_json(reply))
    return b'{"replies":[' + b",".join(parts) + b"]}"


def pickable(reply: Reply) -> list[Option]:
    """The options of one reply a user can pick by number on a text-only channel, in display order.
    A free-text form step's options (上一步, 跳过 …) are left out: there a number is an answer."""
    if isinstance(reply, (ChoicesReply, MaterialStepReply)):
        return reply.options
    if isinstance(reply, CardReply):
        return reply.actions
    if isinstance(reply, FormStepReply) and reply.input == "choice":
        return reply.options
    return []


def numbered(replies: list[Reply]) -> list[list[tuple[int, Option]]]:
    """The pickable options of each reply with the number the citizen types for it (1, 2, … across all)."""
    numbers: list[list[tuple[int, Option]]] = []
    count = 0
    for reply in replies:
        options = pickable(reply)
        numbers.append(list(enumerate(options, count + 1)))
        count += len(options)
    return numbers


def numbered_options(replies: list[Reply]) -> list[Option]:
    """The options of these replies a user can pick by number, in the order of their numbers."""
    return [o for reply in replies for o in pickable(reply)]
