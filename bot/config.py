"""Settings: config.yaml, overridden by ZWB_* environment variables."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


class UploadSettings(BaseModel):
    max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    allowed_types: list[str] = ["image/jpeg", "image/png", "application/pdf"]


class RateLimitSettings(BaseModel):
    messages: int = Field(default=30, gt=0)
    per_seconds: int = Field(default=10, gt=0)


class _YamlSource(PydanticBaseSettingsSource):
    """Reads the YAML file given to Settings.load (lowest priority after defaults)."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


class Settings(BaseSettings):
    """All runtime configuration. Build with `Settings.load(path)`."""

    model_config = SettingsConfigDict(env_prefix="ZWB_", env_nested_delimiter="__", extra="forbid")

    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str = "sqlite+aiosqlite:///var/zhengwu.db"
    session_idle_seconds: int = Field(default=7 * 24 * 3600, gt=0)
    draft_retention_days: int = Field(default=8, gt=0, description="Uploads of unsubmitted drafts kept this long")
    intents_dir: Path = Path("intents")
    semantic_tiebreaker: bool = Field(default=True, description="Resolve clarify decisions with an embedding model")
    blob_dir: Path = Path("var/blobs")
    field_key: str = ""
    field_old_keys: list[str] = Field(default_factory=list, description="Retired keys, still used to decrypt")
    search_key: str = Field(default="", description="Key of the keyed hash that makes 身份证号 searchable")
    redis_url: str = Field(default="", description="redis://… selects the Redis session store")
    redis_prefix: str = "zwb"
    case_number_prefix: str = "DLH"
    dispatch_interval_seconds: float = Field(default=2.0, gt=0, description="Outbox polling when idle")
    pre_review_days: int = Field(default=1, ge=0, description="网上预审 due within this many working days")
    uploads: UploadSettings = UploadSettings()
    rate_limit: RateLimitSettings = RateLimitSettings()
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _drafts_outlive_conversations(self) -> "Settings":
        if self.draft_retention_days * 86400 < self.session_idle_seconds:
            raise ValueError("draft_retention_days must cover session_idle_seconds: a resumed draft needs its uploads")
        return self

    @classmethod
    def load(cls, path: Path | None = Path("config.yaml"), **overrides: Any) -> "Settings":
        """Defaults < YAML file < ZWB_* env < explicit overrides (used by tests)."""
        data: dict[str, Any] = {}
        if path is not None and path.exists():
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}

        class _Loaded(cls):  # type: ignore[valid-type, misc]
            @classmethod
            def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                           file_secret_settings):  # type: ignore[no-untyped-def]
                return (init_settings, env_settings, _YamlSource(settings_cls, data))

        return cls.model_validate(_Loaded(**overrides).model_dump())
