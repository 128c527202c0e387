"""Catalog models: service items (政务服务事项), materials and bundles (一件事).

Every YAML file under ``intents/catalog`` is validated against these models on load.
"""
from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Level(str, Enum):
    """Administrative level of the implementing office."""

    province = "province"  # 省级
    city = "city"          # 市级
    township = "township"  # 乡镇/街道
    village = "village"    # 村/社区


LEVEL_LABELS = {Level.province: "省级", Level.city: "市级", Level.township: "乡镇（街道）", Level.village: "村（社区）"}


class DayUnit(str, Enum):
    """How a time limit is counted: 工作日 skip weekends and holidays, 自然日 do not."""

    workday = "workday"    # 工作日
    calendar = "calendar"  # 自然日


DAY_UNIT_LABELS = {DayUnit.workday: "个工作日", DayUnit.calendar: "个自然日"}


class TimeLimit(NamedTuple):
    """A stated time limit: so many working or calendar days (0 = 即办)."""

    days: int
    unit: DayUnit

    @property
    def approx_calendar_days(self) -> float:
        """For comparing limits in different units only (a week has 5 working days)."""
        return self.days * 7 / 5 if self.unit is DayUnit.workday else self.days


class ItemType(str, Enum):
    """Legal type of the item, as in the 实施清单."""

    licence = "行政许可"
    payment = "行政给付"
    confirmation = "行政确认"
    reward = "行政奖励"
    public_service = "公共服务"
    ruling = "行政裁决"
    other = "其他行政权力"


class MaterialForm(str, Enum):
    paper = "paper"
    electronic = "electronic"
    both = "both"


class MaterialSource(str, Enum):
    citizen = "citizen"                # the applicant provides it
    shared_licence = "shared_licence"  # obtainable from data sharing / 电子证照
    office = "office"                  # issued by the office itself (e.g. a form filled on site)


class OnlineLevel(str, Enum):
    """How far the item can be handled online."""

    full_online = "full_online"  # 全程网办
    one_visit = "one_visit"      # 最多跑一次
    on_site = "on_site"          # 需到现场办理


ONLINE_LABELS = {
    OnlineLevel.full_online: "全程网办，不用跑窗口",
    OnlineLevel.one_visit: "网上申请，最多跑一次",
    OnlineLevel.on_site: "需要本人到窗口办理",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Material(_Strict):
    """申请材料: one document the applicant must provide."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Stable id, shared across items for reuse")
    name: str
    required: bool = True
    form: MaterialForm = MaterialForm.both
    source: MaterialSource = MaterialSource.citizen
    copies: int = Field(default=1, ge=0)
    sample: str | None = None
    licence_type: str | None = Field(default=None, description="电子证照 type that can replace it")
    deferrable: bool = Field(default=False, description="容缺: may be handed in after acceptance")
    pledge: str | None = Field(default=None, description="告知承诺 text the applicant may accept instead")


class Fee(_Strict):
    amount: Decimal = Field(default=Decimal("0"), ge=0, description="Yuan; 0 means free unless unknown")
    unknown: bool = Field(default=False, description="The source states no fee: to be confirmed at the window "
                          "(never shown as free; amount stays 0, so nothing is charged online)")
    basis: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _unknown_has_no_amount(self) -> "Fee":
        if self.unknown and self.amount:
            raise ValueError("an unknown fee has no amount")
        return self


DEFAULT_HOURS = "周一至周五 9:00-12:00，14:30-17:30（法定节假日除外）"


class Location(_Strict):
    name: str
    address: str
    hours: str | None = Field(default=None, description="Opening hours; when left out, DEFAULT_HOURS unless "
                              "the item is done fully online (then none)")
    phone: str | None = None


class ServiceItem(_Strict):
    """政务服务事项 as listed in the 实施清单.

    ``code`` is the catalog key: the 事项编码 of a hand-written item; an imported item is keyed by its 实施编码
    (one 事项编码 may have several 情形 or implementing offices) and keeps the 事项编码 in ``basic_code``.
    """

    code: str = Field(pattern=r"^[0-9A-Z][0-9A-Z-]{7,39}$")
    implementation_code: str
    basic_code: str | None = Field(default=None, pattern=r"^[0-9A-Z][0-9A-Z-]{7,39}$",
                                   description="事项编码 when code is the 实施编码")
    situation: str | None = Field(default=None, description="情形 / 子项名称 this item is one variant of")
    name: str
    short_name: str | None = None
    type: ItemType
    department: str
    level: Level
    legal_basis: list[str] = Field(default_factory=list)
    conditions: list[str] = Field(default_factory=list)
    materials: list[Material] = Field(default_factory=list)
    fee: Fee = Fee()
    promised_days: int | None = Field(ge=0, description="承诺时限; 0 = 即办, None = none stated (无)")
    promised_unit: DayUnit = DayUnit.workday
    legal_days: int | None = Field(ge=0, description="法定时限; None = none stated (无)")
    legal_unit: DayUnit = DayUnit.workday
    online: OnlineLevel
    locations: list[Location] = Field(default_factory=list, description="Empty: no window (online only)")
    guide: str | None = Field(default=None, description="办事指南 summary for citizens")
    aliases: list[str] = Field(default_factory=list, description="Colloquial ways citizens name it")
    situations: list[str] = Field(default_factory=list, description="Life events that lead to it, in citizens' "
                                  "words (孩子满十六岁了); matched like aliases, maintained by the product team")
    audience: list[str] = Field(default_factory=list, description="服务对象")
    topics: list[str] = Field(default_factory=list, description="主题分类")
    joint_departments: list[str] = Field(default_factory=list, description="联办部门")
    visits: int | None = Field(default=None, ge=0, description="到现场次数")
    consult_phone: str | None = Field(default=None, description="咨询电话")
    complaint_phone: str | None = Field(default=None, description="投诉电话")
    booking: bool | None = Field(default=None, description="网上预约 available")
    platform: str | None = Field(default=None, description="办理平台 (where to apply online)")
    produces: list[str] = Field(default_factory=list, description="Keys of the materials this item issues (e.g. "
                                "出生医学证明签发 → birth_medical_certificate): a bundle with it never asks for them")
    result: str | None = Field(default=None, description="办理结果: what the citizen receives, in their words")
    needs_real_name: bool = Field(default=True, description="实名核验 of the applicant's name and 身份证号 before "
                                  "submitting, when the form asks for them (bot/identity.py); false opts out")

    @property
    def promised(self) -> TimeLimit | None:
        return None if self.promised_days is None else TimeLimit(self.promised_days, self.promised_unit)

    @property
    def legal(self) -> TimeLimit | None:
        return None if self.legal_days is None else TimeLimit(self.legal_days, self.legal_unit)

    @field_validator("aliases", "situations")
    @classmethod
    def _no_blank_aliases(cls, aliases: list[str]) -> list[str]:
        if any(not a.strip() for a in aliases):
            raise ValueError("alias must not be blank")
        return aliases

    @model_validator(mode="before")
    @classmethod
    def _default_hours(cls, data: Any) -> Any:
        """Windows of an item that is not fully online open at DEFAULT_HOURS unless told otherwise."""
        if not isinstance(data, dict) or data.get("online") in (OnlineLevel.full_online, "full_online"):
            return data
        locations = [{"hours": DEFAULT_HOURS, **loc} if isinstance(loc, dict) and loc.get("hours") is None else loc
                     for loc in data.get("locations") or []]
        return {**data, "locations": locations} if locations else data

    @model_validator(mode="after")
    def _check(self) -> "ServiceItem":
        if (self.promised_days is not None and self.legal_days is not None
                and self.promised_unit is self.legal_unit and self.promised_days > self.legal_days):
            raise ValueError("promised_days must not exceed legal_days")
        keys = [m.key for m in self.materials]
        if len(keys) != len(set(keys)):
            raise ValueError(f"duplicate material keys in {self.code}")
        return self


class Bundle(_Strict):
    """一件事: several items applied for with one form and one material set."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    department: str = Field(description="Lead department (牵头部门)")
    items: list[str] = Field(min_length=2, description="Item codes, in the order they are handled")
    guide: str
    aliases: list[str] = Field(default_factory=list)
    situations: list[str] = Field(default_factory=list, description="Life events that lead to it, in citizens' words")
    promised_days: int | None = Field(default=None, ge=0, description="Overrides the max of the items")


class CatalogFile(_Strict):
    """One YAML file under intents/catalog: items and/or bundles."""

    items: list[ServiceItem] = Field(default_factory=list)
    bundles: list[Bundle] = Field(default_factory=list)
