"""Settings: config.yaml, overridden by ZWB_* environment variables."""
from __future__ import annotations

import base64
import ipaddress
from datetime import time
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.catalog.models import Level


class UploadSettings(BaseModel):
    max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    allowed_types: list[str] = ["image/jpeg", "image/png", "application/pdf"]
    per_user: int = Field(default=2, gt=0, description="Uploads of one user read at the same time (per process)")
    per_process: int = Field(default=16, gt=0, description="Uploads read at the same time by one process")
    idle_seconds: float = Field(default=15.0, gt=0, description="An upload sending nothing this long is cut")
    total_seconds: float = Field(default=300.0, gt=0, description="An upload must arrive within this")
    per_minute: int = Field(default=20, gt=0, description="Uploads a user may start per minute")


class HttpSettings(BaseModel):
    keepalive_seconds: float = Field(
        default=20.0, gt=0, description="A connection with no complete request this long is closed (idle "
        "keep-alive and slow headers alike); keep a proxy's upstream keep-alive below it")


class S3BlobSettings(BaseModel):
    """An S3-compatible bucket for uploads (blob_store: s3). Keys come from ZWB_BLOB_S3__ACCESS_KEY and
    ZWB_BLOB_S3__SECRET_KEY. `path` addressing is endpoint/bucket/key (MinIO, Ceph); `virtual` is
    bucket.endpoint/key (Aliyun OSS, Tencent COS buckets created since 2024, AWS)."""

    endpoint: str = Field(default="", pattern=r"^(https?://.+)?$", description="e.g. http://minio.internal:9000")
    bucket: str = ""
    region: str = "us-east-1"
    access_key: str = ""
    secret_key: SecretStr = SecretStr("")
    prefix: str = Field(default="", description="Prepended to the SHA-256 in object keys, e.g. uploads/")
    addressing: Literal["path", "virtual"] = "path"
    timeout_seconds: float = Field(default=30.0, gt=0)


class RateLimitSettings(BaseModel):
    messages: int = Field(default=30, gt=0)
    per_seconds: int = Field(default=10, gt=0)


class WeChatPaySettings(BaseModel):
    """WeChat Pay v3 merchant (public-key mode). Keys are files kept out of the repository; the APIv3 key comes
    from ZWB_PAYMENTS__WECHATPAY__API_V3_KEY."""

    base_url: str = "https://api.mch.weixin.qq.com"
    appid: str = ""
    mchid: str = ""
    merchant_serial: str = ""
    merchant_private_key_path: Path | None = None
    platform_public_key_path: Path | None = None
    platform_public_key_id: str = ""
    api_v3_key: str = Field(default="", repr=False)
    notify_url: str = Field(default="", description="https://<host>/api/v1/payments/wechat/notify")


class SubscribeTemplates(BaseModel):
    """Subscribe-message template ids (from the mini-program's admin console) per kind of progress message;
    an empty id means that kind is not sent as a subscribe message."""

    progress: str = ""     # 进度通知
    completed: str = ""    # 办结通知
    rating: str = ""       # 评价提醒
    correction: str = ""   # 补正通知
    handoff: str = ""      # 人工客服回复: a staff answer waits in the chat (the send API's 48 h window has passed)


class SubscribeMessageSettings(BaseModel):
    """How a progress message fills a subscribe-message template: the page it opens (the case number is appended
    as ?case=…), the mini-program version it opens, and which template key carries which value. The keys must
    match the templates chosen in the admin console (thing ≤ 20 characters, phrase ≤ 5, time, character_string)."""

    page: str = "pages/index/index"
    state: Literal["formal", "trial", "developer"] = "formal"
    item_key: str = "thing1"              # 事项名称
    number_key: str = "character_string2"  # 办件编号
    status_key: str = "phrase3"           # 办理状态
    time_key: str = "time4"               # 通知时间
    reply_department_key: str = "thing1"  # 人工客服回复: 回复部门
    reply_excerpt_key: str = "thing2"     # 回复内容 (≤ 20 characters, personal data masked)
    reply_time_key: str = "time3"         # 回复时间


class HandoffConfig(BaseModel):
    """转人工: the human service's hours (working days come from the calendar), desks, limits and timers."""

    opens: time = Field(default=time(9, 0), description="Working hours start (China time), on working days")
    closes: time = Field(default=time(17, 30), description="Working hours end (China time)")
    every_day: bool = Field(default=False, description="Open every day, not only working days (a 24-hour hotline)")
    general_desk: str = Field(default="政务服务中心综合窗口", description="Where a chat with no item in context goes")
    general_level: Level = Level.city
    per_person_limit: int = Field(default=5, gt=0, description="Chats one staff member has at a time")
    max_transfers: int = Field(default=2, ge=0)
    auto_assign: bool = Field(default=False, description="Round robin among the department's online staff")
    first_response_seconds: int = Field(default=60, gt=0, description="SLA, in working seconds")
    next_response_seconds: int = Field(default=180, gt=0, description="SLA after each citizen message")
    resolution_seconds: int = Field(default=1800, gt=0, description="SLA from handoff to close")
    seconds_per_chat: int = Field(default=120, gt=0, description="Expected wait per chat ahead in the queue")
    retention_days: int = Field(default=180, gt=0, description="Transcripts of closed chats are purged after this")
    allowed_origins: list[str] = Field(default_factory=list, description="Origins allowed on the live channels "
                                       "besides the app's own (e.g. https://h5.example.gov.cn)")
    snippets: list[str] = Field(default_factory=list, description="The team's canned answers")
    transfer_customer_service: bool = Field(default=False, description="WeChat: hand chats to WeChat's own agent "
                                            "console instead of the staff console")


class PaymentConfig(BaseModel):
    provider: Literal["sandbox", "wechatpay"] = "sandbox"
    order_minutes: int = Field(default=24 * 60, gt=5, description="An unpaid order expires after this")
    notification_window_seconds: int = Field(default=300, gt=0, description="Older notifications are refused")
    wechatpay: WeChatPaySettings = WeChatPaySettings()

    @model_validator(mode="after")
    def _wechatpay_complete(self) -> "PaymentConfig":
        if self.provider == "wechatpay":
            w = self.wechatpay
            missing = [name for name in ("appid", "mchid", "merchant_serial", "merchant_private_key_path",
                                         "platform_public_key_path", "platform_public_key_id", "api_v3_key",
                                         "notify_url") if not getattr(w, name)]
            if missing:
                raise ValueError(f"payments.wechatpay needs {', '.join(missing)}")
        return self


def _base64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        return b""


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

    environment: Literal["development", "production"] = Field(
        default="development", description="production: the app refuses to start with development settings")
    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str = "sqlite+aiosqlite:///var/zhengwu.db"
    session_idle_seconds: int = Field(default=7 * 24 * 3600, gt=0)
    draft_retention_days: int = Field(default=8, gt=0, description="Uploads of unsubmitted drafts kept this long")
    intents_dir: Path = Path("intents")
    unmatched_retention_days: int = Field(default=90, gt=0, description="Unmatched inbox: utterances kept this long")
    unmatched_flush_seconds: float = Field(default=30.0, gt=0, description="Unmatched inbox: buffer written this often")
    unmatched_clarify_wait_minutes: int = Field(default=30, gt=0, description="Unmatched inbox: a question asked back "
                                                "(which item?) still unanswered after this long counts as abandoned")
    semantic_tiebreaker: bool = Field(default=True, description="Score matches with an embedding model too")
    blob_dir: Path = Path("var/blobs")
    blob_store: Literal["local", "s3"] = Field(default="local", description="Uploads in blob_dir or in blob_s3")
    blob_s3: S3BlobSettings = S3BlobSettings()
    field_key: str = ""
    field_old_keys: list[str] = Field(default_factory=list, description="Retired keys, still used to decrypt")
    search_key: str = Field(default="", description="Key of the keyed hash that makes 身份证号 searchable")
    redis_url: str = Field(default="", description="redis://… selects the Redis session store")
    redis_prefix: str = Field(default="zwb", pattern=r"^[^{}]*$", description="No braces: keys carry {user} tags")
    redis_client: Literal["pipelined", "redis-py", "cluster"] = Field(
        default="pipelined", description="pipelined: the chat turn's scripts over one connection per process "
        "(one node, redis:// or rediss://); redis-py: through redis.asyncio (one node; also unix://); "
        "cluster: redis_url is a node of a Redis Cluster, every call through redis-py's RedisCluster")
    redis_read_legacy_keys: bool = Field(
        default=False, description="Also read a conversation stored under the key layout before hash tags "
        "(`<prefix>:conv:<user>`, releases up to issue 12) and move it at its next save: on while upgrading from "
        "such a release, until session_idle_seconds have passed; one node only. Off, every script is a key lighter")
    case_number_prefix: str = "DLH"
    dispatch_interval_seconds: float = Field(default=2.0, gt=0, description="Outbox polling when idle")
    pre_review_days: int = Field(default=1, ge=0, description="网上预审 due within this many working days")
    uploads: UploadSettings = UploadSettings()
    http: HttpSettings = HttpSettings()
    rate_limit: RateLimitSettings = RateLimitSettings()
    staff_rate_limit: RateLimitSettings = RateLimitSettings(messages=120, per_seconds=60)  # per staff member
    payments: PaymentConfig = PaymentConfig()
    handoff: HandoffConfig = HandoffConfig()
    wechat_appid: str = Field(default="", description="Mini-program AppID; empty: no WeChat channel")
    wechat_secret: str = Field(default="", repr=False)
    wechat_token: str = Field(default="", repr=False, description="Message-push Token")
    wechat_aes_key: str = Field(default="", repr=False, description="43-character EncodingAESKey (safe mode)")
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_safe_mode_only: bool = Field(default=False, description="Refuse plain (unencrypted) callbacks")
    wechat_templates: SubscribeTemplates = SubscribeTemplates()
    wechat_pay_page: str = Field(default="pages/pay/index", description="Mini-program page that pays an order "
                                 "(gets ?out_trade_no=…); customer-service chats link to it")
    wechat_subscribe: SubscribeMessageSettings = SubscribeMessageSettings()
    session_token_hours: float = Field(default=2.0, gt=0, le=24 * 30, description="A login session lasts this long")
    session_token_key: str = Field(default="", repr=False,
                                   description="HMAC key of session tokens (base64, 32 bytes); empty: var/session.key")
    staff_token_days: int = Field(default=90, gt=0, le=366, description="A staff bearer token works this long; "
                                  "`python -m bot staff rotate <id>` issues a new one")
    require_login: bool = Field(default=False, description="Citizen APIs need a session token (true in production)")
    revocation_poll_seconds: float = Field(
        default=5.0, gt=0, le=60, description="Each instance reloads the logged-out session tokens this often; a "
        "logout also notifies every instance at once, so this bounds only a missed notice")
    real_name_deny: list[str] = Field(default_factory=list,
                                      description="Sandbox 实名核验: 身份证号 it refuses (tests, demos)")
    log_level: str = "INFO"
    log_format: Literal["json", "text"] | None = Field(
        default=None, description="json: one JSON object a line; empty: json in production, text otherwise")
    metrics_token: str = Field(default="", repr=False, description="Bearer token GET /metrics needs; empty: "
                               "only loopback clients may scrape")

    def effective_log_format(self) -> Literal["json", "text"]:
        """log_format, or its default for the environment."""
        return self.log_format or ("json" if self.environment == "production" else "text")
    studio_two_person_rule: bool = Field(default=True, description="A publisher cannot publish a draft they "
                                         "authored (false only for development)")
    studio_poll_seconds: float = Field(default=2.0, gt=0, description="Each instance checks the live content "
                                       "version this often (a publish also notifies them at once)")
    studio_versions_kept: int = Field(default=2, ge=1, description="Content versions kept loaded per instance, "
                                      "so a form under way can finish on the version it started with")

    @model_validator(mode="after")
    def _drafts_outlive_conversations(self) -> "Settings":
        if self.draft_retention_days * 86400 < self.session_idle_seconds:
            raise ValueError("draft_retention_days must cover session_idle_seconds: a resumed draft needs its uploads")
        return self

    @model_validator(mode="after")
    def _legacy_keys_on_one_node(self) -> "Settings":
        if self.redis_read_legacy_keys and self.redis_client == "cluster":
            raise ValueError("redis_read_legacy_keys works on one Redis node only: those keys have no hash tag, so "
                             "on a Cluster they live in other slots than the user's new keys")
        return self

    @model_validator(mode="after")
    def _blob_store_complete(self) -> "Settings":
        s3 = self.blob_s3
        complete = s3.endpoint and s3.bucket and s3.access_key and s3.secret_key.get_secret_value()
        if self.blob_store == "s3" and not complete:
            raise ValueError("blob_store s3 needs blob_s3.endpoint, bucket, access_key and secret_key")
        return self

    @model_validator(mode="after")
    def _wechat_complete(self) -> "Settings":
        if self.wechat_appid and not (self.wechat_secret and self.wechat_token):
            raise ValueError("wechat_appid needs wechat_secret and wechat_token")
        if self.wechat_aes_key and len(self.wechat_aes_key) != 43:
            raise ValueError("wechat_aes_key (EncodingAESKey) has 43 characters")
        if self.wechat_safe_mode_only and not self.wechat_aes_key:
            raise ValueError("wechat_safe_mode_only needs wechat_aes_key")
        if self.require_login and not self.wechat_appid:
            raise ValueError("require_login needs wechat_appid: citizens log in with WeChat")
        if self.session_token_key and len(_base64(self.session_token_key)) != 32:
            raise ValueError("session_token_key is the base64 of 32 random bytes")
        return self

    @classmethod
    def load(cls, path: Path | None = Path("config.yaml"), **overrides: Any) -> "Settings":
        """Defaults < YAML file < ZWB_* env < explicit overrides (used by tests)."""
        data: dict[str, Any] = {}
        if path is not None and path.exists():
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}

        class _Loaded(cls):  # type: ignore[valid-type, misc]
            @classmethod
            def settings_customise_sources(cls, settings_cls: type[BaseSettings],
                                           init_settings: PydanticBaseSettingsSource,
                                           env_settings: PydanticBaseSettingsSource,
                                           dotenv_settings: PydanticBaseSettingsSource,
                                           file_secret_settings: PydanticBaseSettingsSource,
                                           ) -> tuple[PydanticBaseSettingsSource, ...]:
                return (init_settings, env_settings, _YamlSource(settings_cls, data))

        return cls.model_validate(_Loaded(**overrides).model_dump())


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def production_problems(settings: Settings) -> list[str]:
    """Each development setting that a production profile must not run with, named; empty outside production.
    Identity verification has only the sandbox so far, so a production start is refused until a real 实名核验
    provider is wired."""
    if settings.environment != "production":
        return []
    problems = []
    if settings.payments.provider == "sandbox":
        problems.append("payments.provider is sandbox (no money moves; anyone may stand in for the payer)")
    problems.append("identity verification is the sandbox (bot/identity.py SandboxIdentityVerifier): no real "
                    "实名核验 provider is configured")
    if not settings.require_login:
        problems.append("require_login is false (citizen APIs trust any claimed user)")
    if not settings.wechat_safe_mode_only:
        problems.append("wechat_safe_mode_only is false (plain, unencrypted WeChat callbacks are accepted)")
    for key in ("field_key", "search_key", "session_token_key"):
        if not getattr(settings, key):
            problems.append(f"{key} is empty (a development key would be generated into var/)")
    if not settings.require_login and not _loopback(settings.host):
        problems.append(f"host {settings.host} is not loopback while require_login is false")
    return problems
