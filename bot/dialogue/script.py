"""Dialogue scripts edited by the product team (intents/scripts/*.yaml) and their resolution into a plan."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from bot.catalog import Catalog, Material, Target
from bot.catalog.models import MaterialSource
from bot.content_errors import ContentError, ContentInvalid, load_model
from bot.dialogue.field_steps import FieldStep, field_kind
from bot.dialogue.fields import DateRange, FieldSpec, FieldType, Strict
from bot.dialogue.material_steps import MaterialStep
from bot.dialogue.step_kinds import STEP_KINDS
from bot.dialogue.steps import Step


class StepRef(Strict):
    """One entry of a script: a field from the library (optionally with overrides) or a material of the item.
    `kind` picks the class that runs it (bot/dialogue/step_kinds.py); a field's kind follows its type."""

    kind: str | None = None
    field: str | None = None
    material: str | None = None
    label: str | None = None
    prompt: str | None = None
    hint: str | None = None
    type: FieldType | None = None
    options: list[str] | None = None
    option_words: dict[str, list[str]] | None = None
    optional: bool | None = None
    date_range: DateRange | None = None

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str | None) -> str | None:
        if kind is not None and kind not in STEP_KINDS:
            raise ValueError(f"unknown step kind '{kind}' (known: {', '.join(STEP_KINDS)})")
        return kind

    @model_validator(mode="after")
    def _names_one(self) -> "StepRef":
        if (self.field is None) == (self.material is None):
            raise ValueError("a step names exactly one of field or material")
        if (self.material is not None) != (self.kind == "material"):
            raise ValueError("a material step is written `kind: material` with `material: <key>`")
        return self


class FaqEntry(Strict):
    ask: list[str] = Field(min_length=1, description="Keywords; any one present selects this answer")
    answer: str


class Script(Strict):
    """Steps, FAQ and synonyms for one item or bundle. An item done on site has no steps: FAQ and synonyms only."""

    item: str | None = None
    bundle: str | None = None
    steps: list[StepRef] = Field(default_factory=list)
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


class FieldLibrary(Strict):
    fields: list[FieldSpec]
    default_steps: list[StepRef] = Field(min_length=1)

    @field_validator("default_steps")
    @classmethod
    def _fields_only(cls, steps: list[StepRef]) -> list[StepRef]:
        if any(step.material is not None for step in steps):
            raise ValueError("default steps apply to every item: they name fields, not materials")
        return steps


@dataclass(frozen=True)
class Plan:
    """The concrete steps for one target, in the order they are asked, then confirmation."""

    steps: tuple[Step, ...]
    faq: tuple[FaqEntry, ...]

    @cached_property
    def fields(self) -> tuple[FieldSpec, ...]:
        return tuple(s.spec for s in self.steps if isinstance(s, FieldStep))

    @cached_property
    def materials(self) -> tuple[Material, ...]:
        return tuple(s.material for s in self.steps if isinstance(s, MaterialStep))

    def field(self, key: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.key == key), None)

    def only_materials(self, keys: set[str]) -> "Plan":
        """The plan of a correction: the materials named, nothing else."""
        return Plan(tuple(s for s in self.steps if isinstance(s, MaterialStep) and s.key in keys), self.faq)


@dataclass(frozen=True)
class StepSources:
    """What script entries are resolved against: the field library and the materials of one target."""

    library: dict[str, FieldSpec]
    materials: dict[str, Material]

    def field(self, ref: StepRef) -> FieldSpec:
        overrides = ref.model_dump(exclude={"field", "kind", "material"}, exclude_none=True)
        return self.library[ref.field or ""].model_copy(update=overrides)

    def material(self, ref: StepRef) -> Material:
        return self.materials[ref.material or ""]

    def build(self, ref: StepRef) -> Step:
        """The step of one entry: its kind's class, or for a plain field the class of the field's type."""
        kind = ref.kind or "field"
        return STEP_KINDS[field_kind(self.field(ref)) if kind == "field" else kind].build(ref, self)


class ScriptBook:
    """All scripts, resolved against the field library and the catalog."""

    def __init__(self, library: FieldLibrary, scripts: dict[str, Script], errors: list[ContentError]) -> None:
        self.library = {f.key: f for f in library.fields}
        self.default_steps = library.default_steps
        self.scripts = scripts
        self.errors = errors
        self._plans: dict[str, Plan] = {}  # a plan depends only on this content: built once per target

    def synonyms(self, target_key: str) -> list[str]:
        script = self.scripts.get(target_key)
        return list(script.synonyms) if script else []

    def plan(self, target: Target) -> Plan:
        """The steps of the target's script(s) in order, each once; then the materials no script names; the FAQ."""
        if (plan := self._plans.get(target.key)) is None:
            plan = self._plans[target.key] = self._build(target)
        return plan

    def _scripts_of(self, target: Target) -> list[Script | None]:
        """The target's script; for a bundle without one, each item's (None: the default steps)."""
        script = self.scripts.get(target.key)
        if target.is_bundle and script is None:
            return [self.scripts.get(item.code) for item in target.items]
        return [script]

    def _build(self, target: Target) -> Plan:
        scripts = self._scripts_of(target)
        # Forms issued by the office (申请表) are produced from the answers, never uploaded.
        materials = {m.key: m for m in target.materials() if m.source is not MaterialSource.office}
        sources = StepSources(self.library, materials)
        steps: dict[tuple[bool, str], Step] = {}
        for ref in (ref for script in scripts for ref in (script.steps if script else self.default_steps)):
            if ref.material is not None and ref.material not in materials:
                continue  # an item's script naming a material another item of the bundle issues
            step = sources.build(ref)
            steps.setdefault((step.is_material, step.key), step)
        for material in materials.values():
            steps.setdefault((True, material.key), MaterialStep(material))
        faq = tuple(entry for script in scripts if script for entry in script.faq)
        return Plan(tuple(steps.values()), faq)

    @staticmethod
    def problems(script: Script, known: dict[str, FieldSpec], catalog: Catalog) -> list[str]:
        """What a valid script still gets wrong against the field library and the catalog."""
        target = catalog.target(script.target_key)
        if target is None:
            return [f"unknown target '{script.target_key}'"]
        materials = {m.key for m in target.materials() if m.source is not MaterialSource.office}
        return ([f"unknown field '{r.field}'" for r in script.steps if r.field is not None and r.field not in known]
                + [f"unknown material '{r.material}' of {script.target_key}" for r in script.steps
                   if r.material is not None and r.material not in materials]
                + [f"option_words of '{r.field}' name an option it does not have: '{option}'"
                   for r in script.steps if r.option_words and r.field in known
                   for option in r.option_words if option not in (r.options or known[r.field or ""].options)])

    @classmethod
    def load(cls, directory: Path, catalog: Catalog, log: logging.Logger) -> "ScriptBook":
        """Load fields.yaml (must be valid) and every other script; a bad script is reported and skipped."""
        library = load_model(directory / "fields.yaml", FieldLibrary, directory.parent)
        known = {f.key: f for f in library.fields}
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
            problems = cls.problems(script, known, catalog)
            if script.target_key in scripts:
                problems.append(f"second script for '{script.target_key}'")
            if problems:
                errors.extend(ContentError(name, 1, p) for p in problems)
                continue
            scripts[script.target_key] = script
        for error in errors:
            log.error("script skipped: %s", error)
        return cls(library, scripts, errors)
