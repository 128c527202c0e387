"""The form fields of the field library (intents/scripts/fields.yaml): how to ask and how to check an answer."""
from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator


class FieldType(str, Enum):
    text = "text"
    name = "name"
    id_number = "id_number"
    phone = "phone"
    address = "address"
    choice = "choice"
    date = "date"
    number = "number"


class DateRange(str, Enum):
    past = "past"
    future = "future"
    any = "any"


class Strict(BaseModel):
    """A product-team YAML model: unknown keys are errors, values never change after load."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldSpec(Strict):
    """One form field: how to ask for it and how to validate the answer."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    type: FieldType = FieldType.text
    prompt: str
    hint: str | None = None
    options: list[str] = Field(default_factory=list)
    option_words: dict[str, list[str]] = Field(default_factory=dict, description="Option -> words that mean it "
                                               "in an answer typed instead of tapped (寄到家 -> 邮寄到家)")
    min_length: int = Field(default=1, ge=0)
    max_length: int = Field(default=200, gt=0)
    pattern: str | None = None
    date_range: DateRange = DateRange.any
    min_value: int | None = None
    max_value: int | None = None
    optional: bool = False
    reusable: bool = Field(default=True, description="Offer the user's earlier answer in later applications")
    sensitive: bool = Field(default=False, description="Masked in summaries and logs")

    @model_validator(mode="after")
    def _choice_has_options(self) -> "FieldSpec":
        if self.type is FieldType.choice and len(self.options) < 2:
            raise ValueError(f"choice field {self.key} needs at least two options")
        return self

    @field_validator("option_words")
    @classmethod
    def _words_of_options(cls, words: dict[str, list[str]], info: ValidationInfo) -> dict[str, list[str]]:
        unknown = [option for option in words if option not in info.data.get("options", [])]
        if unknown:
            raise ValueError(f"option_words name options that field {info.data.get('key')} does not have: "
                             f"{', '.join(unknown)}")
        return words
