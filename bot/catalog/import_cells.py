"""One cell of a 实施清单 export, read: the words exports use for levels, online depth, yes and no, fees, time
limits, materials, windows and visits, each parsed or refused with a message that says what was expected."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.catalog.models import DayUnit, Level, OnlineLevel
from bot.catalog.vocabulary import TRAILING, MaterialVocabulary, item_key

LEVELS: dict[str, Level] = {"省级": Level.province, "省": Level.province, "市级": Level.city, "市": Level.city,
                            "乡镇（街道）": Level.township, "乡镇(街道)": Level.township, "乡镇": Level.township,
                            "街道": Level.township, "村（社区）": Level.village, "村(社区)": Level.village,
                            "村": Level.village, "社区": Level.village, **{level.value: level for level in Level}}
ONLINE: dict[str, OnlineLevel] = {"全程网办": OnlineLevel.full_online, "最多跑一次": OnlineLevel.one_visit,
                                  "到现场": OnlineLevel.on_site, "需到现场办理": OnlineLevel.on_site,
                                  "现场办理": OnlineLevel.on_site, **{online.value: online for online in OnlineLevel}}
REQUIRED = {"必要": True, "必须": True, "必需": True, "是": True, "required": True,
            "非必要": False, "可选": False, "否": False, "optional": False}
FORMS = {"纸质": "paper", "电子": "electronic", "纸质和电子": "both", "纸质或电子": "both",
         "paper": "paper", "electronic": "electronic", "both": "both"}
YES_NO = {"是": True, "支持": True, "否": False, "不支持": False}
FREE = {"0", "不收费", "免费", "无", "0元"}
EMPTY = {"无", "/", "-", "—", "——", "－", "暂无", "无。", "空", "null", "NULL", "N/A", "n/a"}  # cells saying nothing
NO_WINDOW = re.compile(r"^(?:无|暂无)(?:线下|现场)?(?:办理)?(?:窗口|地点|场所)?$")
FIELD_PREFIX = re.compile(r"^(?:办理地点|地址|电话|咨询电话|投诉电话)\s*[:：]\s*")
SPLIT = re.compile(r"[\n；;]+")
TAG_SPLIT = re.compile(r"[\n；;、]+")
PIPE = re.compile(r"[|｜]")
DAYS = re.compile(r"^(\d+)\s*[（(]?\s*(?:个)?\s*(工作日|自然日|天|日)?\s*[）)]?$")
INSTANT = {"即办", "当场办结", "立即办结"}


def cell(value: Any) -> str:
    """Normalise a cell value to stripped text (integral floats lose their '.0')."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()


def split(text: str, pattern: re.Pattern[str] = SPLIT) -> list[str]:
    """The entries of a list cell (one per line or ；), leaving out the ones that say nothing."""
    return [part.strip() for part in pattern.split(text) if part.strip() and part.strip() not in EMPTY]


def choice(table: dict[str, Any], text: str, what: str, hint: str) -> Any:
    """The value `table` gives `text`; a ValueError naming `what` was expected (`hint`) otherwise."""
    if text not in table:
        raise ValueError(f"无法识别的{what}“{text}”（应为 {hint}）")
    return table[text]


def days(text: str) -> tuple[int, DayUnit]:
    """'15个工作日', '7(工作日)', '30(自然日)', '15', '即办' -> (days, unit); 天/日 count as working days."""
    if text in INSTANT:
        return 0, DayUnit.workday
    match = DAYS.match(text)
    if not match:
        raise ValueError(f"无法识别的时限“{text}”（应为如“15个工作日”、“30(自然日)”、“即办”、“无”或数字）")
    return int(match.group(1)), DayUnit.calendar if match.group(2) == "自然日" else DayUnit.workday


def fee(text: str) -> dict[str, Any]:
    """'不收费', '20', '20元' -> {"amount": Decimal}."""
    if text in FREE:
        return {"amount": Decimal("0")}
    try:
        return {"amount": Decimal(text.removesuffix("元").strip())}
    except InvalidOperation:
        raise ValueError(f"无法识别的收费标准“{text}”（应为金额或“不收费”）") from None


def materials(text: str, code: str, vocabulary: MaterialVocabulary) -> tuple[list[dict[str, Any]], list[str]]:
    """Parse material lines (`名称[|key|必要/非必要|纸质/电子/纸质和电子|份数]`); a line without a key gets the
    common document's key, else a key of this item only. Returns (materials, notes for the row's warning)."""
    result: list[dict[str, Any]] = []
    notes: list[str] = []
    errors: list[str] = []
    keys: set[str] = set()
    for index, line in enumerate(split(text), start=1):
        name, key, required, form, copies = ([p.strip() for p in PIPE.split(line)] + [""] * 4)[:5]
        name = name.strip(TRAILING)
        if not name or name in EMPTY:
            continue
        key = key or vocabulary.common_key(name) or item_key(code, name)
        if key in keys:
            notes.append(f"申请材料“{name}”与前面的材料重复，已合并")
            continue
        keys.add(key)
        material: dict[str, Any] = {"name": name, "key": key}
        try:
            if required:
                material["required"] = choice(REQUIRED, required, "是否必要", "必要/非必要")
            if form:
                material["form"] = choice(FORMS, form, "材料形式", "纸质/电子/纸质和电子")
            if copies:
                if not re.fullmatch(r"\d+\s*份?", copies):
                    raise ValueError(f"份数“{copies}”不是数字")
                material["copies"] = int(copies.rstrip("份"))
        except ValueError as exc:
            errors.append(f"第{index}项“{name}”：{exc}")
        result.append(material)
    if errors:
        raise ValueError("；".join(errors))
    return result, notes


def locations(text: str, department: str) -> list[dict[str, str]]:
    """Parse `名称|地址[|办公时间|电话]` entries, or a plain address (named after the department); “无线下办理窗口”
    and the like mean no window."""
    result: list[dict[str, str]] = []
    for entry in split(text):
        if NO_WINDOW.match(entry):
            continue
        parts = [p.strip() for p in PIPE.split(entry)]
        if len(parts) == 1:
            parts = [department, FIELD_PREFIX.sub("", entry)]
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise ValueError(f"“{entry}”格式应为 名称|地址")
        result.append({k: v for k, v in zip(("name", "address", "hours", "phone"), parts) if v})
    return result


def visits(text: str) -> int:
    """到现场次数 as a number."""
    if not text.isdigit():
        raise ValueError(f"到现场次数“{text}”不是数字")
    return int(text)
