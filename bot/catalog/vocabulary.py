"""The shared vocabulary of common documents (intents/dictionaries/materials.yaml) and material keys.

A material named like a common document gets that document's key, so the same document has the same key in
every item; any other material gets a key derived from its item and its name, so one generated key never
stands for two different documents.
"""
from __future__ import annotations

import hashlib
import re
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.content_errors import load_model

NUMBERING = re.compile(r"^\s*(?:[(（]?\d{1,2}[)）]|\d{1,2}[、.．]|[一二三四五六七八九十]+[、.．])\s*")
COPY_NOTE = re.compile(r"[(（]?(?:原件(?:及|和|或)?复印件|原件|复印件)[)）]?$")
TRAILING = "；;。，,.、 "


def trim(name: str) -> str:
    """A material's name without numbering, 《》 and a trailing 原件/复印件 note: what the vocabulary matches."""
    name = NUMBERING.sub("", name).strip(TRAILING).replace("《", "").replace("》", "")
    return COPY_NOTE.sub("", name).strip(TRAILING) or name


class CommonDocument(BaseModel):
    """One document that is the same whatever item asks for it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    names: list[str] = Field(min_length=1)
    patterns: list[str] = Field(default_factory=list)

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            re.compile(pattern)
        return patterns


class MaterialVocabulary(BaseModel):
    """intents/dictionaries/materials.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    documents: list[CommonDocument]

    @model_validator(mode="after")
    def _unique(self) -> "MaterialVocabulary":
        keys = [d.key for d in self.documents]
        names = [n for d in self.documents for n in d.names]
        if len(keys) != len(set(keys)) or len(names) != len(set(names)):
            raise ValueError("each key and each name may appear in one document only")
        return self

    @cached_property
    def _by_name(self) -> dict[str, str]:
        return {name: d.key for d in self.documents for name in d.names}

    @cached_property
    def _patterns(self) -> list[tuple[re.Pattern[str], str]]:
        return [(re.compile(p), d.key) for d in self.documents for p in d.patterns]

    def common_key(self, name: str) -> str | None:
        """The key of the common document this material name stands for, if any."""
        trimmed = trim(name)
        if trimmed in self._by_name:
            return self._by_name[trimmed]
        return next((key for pattern, key in self._patterns if pattern.fullmatch(trimmed)), None)

    @classmethod
    def load(cls, path: Path) -> "MaterialVocabulary":
        return load_model(path, cls, path.parent.parent)


def item_key(item_code: str, name: str) -> str:
    """A key for a material only this item asks for: stable across imports, never shared with another item."""
    return "m_" + hashlib.sha1(f"{item_code}\n{trim(name)}".encode()).hexdigest()[:12]
