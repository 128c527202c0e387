"""Catalog models: service items (政务服务事项), materials and bundles (一件事).

Every YAML file under ``intents/catalog`` is validated against these models on load.
"""
from __future__ import annotations

from decimal import Decimal
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Level(str, Enum):
    """Administrative level of the implementing office."""

    city = "city"          # 市级
    township = "township"  # 乡镇/街道
    village = "village"    # 村/社区


LEVEL_LABELS = {Level.city: "市级", Level.township: "乡镇（街道）", Level.village: "村（社区）"}


class ItemType(str, Enum):
    """Legal type of the item, as in the 实施清单."""

    licence = "行政许可"
    payment = "行政给付"
    confirmation = "行政确认"
    reward = "行政奖励"
    public_service = "公共服务"
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
    amount: Decimal = Field(default=Decimal("0"), ge=0, description="Yuan; 0 means free")
    basis: str | None = None
    note: str | None = None


class Location(_Strict):
    name: str
    address: str
    hours: str = "周一至周五 9:00-12:00，14:30-17:30（法定节假日除外）"
    phone: str | None = None


class ServiceItem(_Strict):
    """政务服务事项 as listed in the 实施清单."""

    code: str = Field(pattern=r"^[0-9A-Z]{8,20}$")
    implementation_code: str
    name: str
    short_name: str | None = None
    type: ItemType
    department: str
    level: Level
    legal_basis: list[str] = Field(min_length=1)
    conditions: list[str] = Field(min_length=1)
    materials: list[Material] = Field(default_factory=list)
    fee: Fee = Fee()
    promised_days: int = Field(ge=0, description="承诺时限, working days; 0 = 即办")
    legal_days: int = Field(ge=0, description="法定时限, working days")
    online: OnlineLevel
    locations: list[Location] = Field(min_length=1)
    guide: str = Field(description="办事指南 summary for citizens")
    aliases: list[str] = Field(default_factory=list, description="Colloquial ways citizens name it")
    needs_real_name: bool = Field(default=True, description="实名核验 of the applicant's name and 身份证号 before "
                                  "submitting, when the form asks for them (bot/identity.py); false opts out")

    @field_validator("aliases")
    @classmethod
    def _no_blank_aliases(cls, aliases: list[str]) -> list[str]:
        if any(not a.strip() for a in aliases):
            raise ValueError("alias must not be blank")
        return aliases

    @model_validator(mode="after")
    def _check(self) -> "ServiceItem":
        if self.promised_days > self.legal_days:
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
    promised_days: int | None = Field(default=None, ge=0, description="Overrides the max of the items")


class CatalogFile(_Strict):
    """One YAML file under intents/catalog: items and/or bundles."""

    items: list[ServiceItem] = Field(default_factory=list)
    bundles: list[Bundle] = Field(default_factory=list)
