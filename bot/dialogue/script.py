"""Dialogue scripts edited by the product team (intents/scripts/*.yaml) and their resolution into a plan."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.catalog import Catalog, Material, Target
from bot.catalog.models import MaterialSource
from bot.content_errors import ContentError, ContentInvalid, load_model


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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldSpec(_Strict):
    """One form field: how to ask for it and how to validate the answer."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    type: FieldType = FieldType.text
    prompt: str
    hint: str | None = None
    options: list[str] = Field(default_factory=list)
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


class FieldRef(_Strict):
    """A step in a script: a field from the library, optionally with overrides."""

    field: str
    label: str | None = None
    prompt: str | None = None
    hint: str | None = None
    type: FieldType | None = None
    options: list[str] | None = None
    optional: bool | None = None
    date_range: DateRange | None = None


class FaqEntry(_Strict):
    ask: list[str] = Field(min_length=1, description="Keywords; any one present selects this answer")
    answer: str


class Script(_Strict):
    """Steps, FAQ and synonyms for one item or bundle."""

    item: str | None = None
    bundle: str | None = None
    steps: list[FieldRef] = Field(min_length=1)
    faq: list[FaqEntry] = Field(default_factory=list)
    synonyms: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_target(self) -> "Script":
        if (self.item is None) == (self.bundle is None):
            raise ValueError("a script names exactly one of item or bundle")
        return self

    @property
    def target_key(self) -> str:
        return self.item if self.item is not None else f"bundle:{self.bundle}"


class FieldLibrary(_Strict):
    fields: list[FieldSpec]
    default_steps: list[FieldRef] = Field(min_length=1)


@dataclass(frozen=True)
class Plan:
    """The concrete questions for one target: fields, then materials, then confirmation."""

    fields: tuple[FieldSpec, ...]
    materials: tuple[Material, ...]
    faq: tuple[FaqEntry, ...]

    def field(self, key: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.key == key), None)

    def material(self, key: str) -> Material | None:
        return next((m for m in self.materials if m.key == key), None)


class ScriptBook:
    """All scripts, resolved against the field library and the catalog."""

    def __init__(self, library: FieldLibrary, scripts: dict[str, Script], errors: list[ContentError]) -> None:
        self.library = {f.key: f for f in library.fields}
        self.default_steps = library.default_steps
        self.scripts = scripts
        self.errors = errors

    def synonyms(self, target_key: str) -> list[str]:
        script = self.scripts.get(target_key)
        return list(script.synonyms) if script else []

    def plan(self, target: Target) -> Plan:
        """Fields of the target's script(s), each key once; the union of materials; the FAQ."""
        scripts = [self.scripts.get(target.key)]
        if target.is_bundle and scripts[0] is None:
            scripts = [self.scripts.get(item.code) for item in target.items]
        fields: dict[str, FieldSpec] = {}
        faq: list[FaqEntry] = []
        for script in scripts:
            steps = script.steps if script else self.default_steps
            for ref in steps:
                if ref.field not in fields:
                    fields[ref.field] = self._resolve(ref)
            faq.extend(script.faq if script else [])
        # Forms issued by the office (申请表) are produced from the answers, never uploaded.
        materials = tuple(m for m in target.materials() if m.source is not MaterialSource.office)
        return Plan(tuple(fields.values()), materials, tuple(faq))

    def _resolve(self, ref: FieldRef) -> FieldSpec:
        base = self.library[ref.field]
        overrides = ref.model_dump(exclude={"field"}, exclude_none=True)
        return base.model_copy(update=overrides)

    @classmethod
    def load(cls, directory: Path, catalog: Catalog, log: logging.Logger) -> "ScriptBook":
        """Load fields.yaml (must be valid) and every other script; a bad script is reported and skipped."""
        library = load_model(directory / "fields.yaml", FieldLibrary, directory.parent)
        known = {f.key for f in library.fields}
        scripts: dict[str, Script] = {}
        errors: list[ContentError] = []
        for path in sorted(directory.glob("*.yaml")):
            if path.name in {"fields.yaml", "prompts.yaml"}:
                continue
            name = str(path.relative_to(directory.parent))
            try:
                script = load_model(path, Script, directory.parent)
            except ContentInvalid as exc:
                errors.extend(exc.errors)
                continue
            problems = [f"unknown field '{r.field}'" for r in script.steps if r.field not in known]
            if catalog.target(script.target_key) is None:
                problems.append(f"unknown target '{script.target_key}'")
            if script.target_key in scripts:
                problems.append(f"second script for '{script.target_key}'")
            if problems:
                errors.extend(ContentError(name, 1, p) for p in problems)
                continue
            scripts[script.target_key] = script
        for error in errors:
            log.error("script skipped: %s", error)
        return cls(library, scripts, errors)
