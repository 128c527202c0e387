"""intents/dictionaries/out_of_scope.yaml: requests that are not public services (small talk, shopping, travel,
schoolwork, food ...). They are a pseudo-target of the matcher: when they are closest, the answer is none."""
from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from bot.content_errors import load_model


class OutOfScope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    examples: dict[str, list[str]] = Field(default_factory=dict, description="topic -> sentences citizens type")


def load_out_of_scope(path: Path) -> list[str]:
    """Every example sentence (none when the file is absent)."""
    if not path.exists():
        return []
    return [s for sentences in load_model(path, OutOfScope, path.parent.parent).examples.values() for s in sentences]
