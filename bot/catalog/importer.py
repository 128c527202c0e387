"""Import a 实施清单 export (CSV or XLSX) into catalog YAML validated by ``ServiceItem``."""
from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable, NamedTuple

import yaml
from pydantic import ValidationError

from bot.catalog.models import LEVEL_LABELS, CatalogFile, Level, OnlineLevel, ServiceItem

HEADERS: dict[str, str] = {
    "事项编码": "code", "实施编码": "implementation_code", "事项名称": "name", "简称": "short_name",
    "事项类型": "type", "实施主体": "department", "行使层级": "level", "设定依据": "legal_basis",
    "受理条件": "conditions", "申请材料": "materials", "收费标准": "fee", "收费依据": "fee_basis",
    "承诺时限": "promised_days", "法定时限": "legal_days", "办理形式": "online", "网办深度": "online",
    "办理地点": "locations", "办事指南": "guide", "别名": "aliases",
}
LABELS: dict[str, str] = {f: h for h, f in reversed(list(HEADERS.items()))}
LIST_FIELDS = ("legal_basis", "conditions", "aliases")
LEVELS: dict[str, Level] = {"市级": Level.city, "市": Level.city, "乡镇（街道）": Level.township,
                            "乡镇(街道)": Level.township, "乡镇": Level.township, "街道": Level.township,
                            "村（社区）": Level.village, "村(社区)": Level.village, "村": Level.village,
                            "社区": Level.village, **{level.value: level for level in Level}}
ONLINE: dict[str, OnlineLevel] = {"全程网办": OnlineLevel.full_online, "最多跑一次": OnlineLevel.one_visit,
                                  "到现场": OnlineLevel.on_site, "需到现场办理": OnlineLevel.on_site,
                                  "现场办理": OnlineLevel.on_site, **{online.value: online for online in OnlineLevel}}
REQUIRED = {"必要": True, "必须": True, "必需": True, "是": True, "required": True,
            "非必要": False, "可选": False, "否": False, "optional": False}
FORMS = {"纸质": "paper", "电子": "electronic", "纸质和电子": "both", "纸质或电子": "both",
         "paper": "paper", "electronic": "electronic", "both": "both"}
FREE = {"", "0", "不收费", "免费", "无"}
SPLIT = re.compile(r"[\n；;]+")
PIPE = re.compile(r"[|｜]")
PATTERN_HINTS = {"code": "应为 8-20 位数字或大写字母", "key": "只能用小写字母、数字和下划线，以字母开头"}
DAYS = re.compile(r"^(\d+)\s*(?:个)?\s*(?:工作日|天|日)?$")


class CatalogReadError(Exception):
    """The input file cannot be read as a 实施清单 table."""


class Rejection(NamedTuple):
    """One rejected row: spreadsheet row number (header = 1), column header(s), reason."""

    row: int
    column: str
    reason: str


@dataclass
class ImportReport:
    """Outcome of an import: accepted items, rejected rows and warnings."""

    items: list[ServiceItem] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def render(self) -> str:
        """Short human-readable summary: counts, one line per rejection and per warning."""
        lines = [f"导入结果：接受 {len(self.items)} 条，拒绝 {len(self.rejected)} 条，警告 {len(self.warnings)} 条"]
        lines += [f"  拒绝 第{r.row}行 [{r.column}]：{r.reason}" for r in self.rejected]
        lines += [f"  警告 {w}" for w in self.warnings]
        return "\n".join(lines)


def _cell(value: Any) -> str:
    """Normalise a cell value to stripped text (integral floats lose their '.0')."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()


def _read_table(path: Path) -> list[list[str]]:
    """Read all rows of a CSV (UTF-8 with/without BOM, GBK fallback) or the first sheet of an XLSX."""
    if path.suffix.lower() not in (".csv", ".xlsx"):
        raise CatalogReadError(f"不支持的文件类型：{path.suffix}（只支持 .csv 和 .xlsx）")
    try:
        if path.suffix.lower() == ".xlsx":
            from openpyxl import load_workbook
            wb = load_workbook(path, read_only=True, data_only=True)
            try:
                return [[_cell(v) for v in row] for row in wb.worksheets[0].iter_rows(values_only=True)]
            finally:
                wb.close()
        raw = path.read_bytes()
    except Exception as exc:  # missing file, corrupt zip, bad workbook...
        raise CatalogReadError(f"无法读取文件 {path}：{exc}") from exc
    for encoding in ("utf-8-sig", "gb18030"):  # gb18030 is a superset of GBK
        try:
            return [[_cell(v) for v in row] for row in csv.reader(io.StringIO(raw.decode(encoding), newline=""))]
        except UnicodeDecodeError:
            continue
    raise CatalogReadError(f"无法识别文件编码（应为 UTF-8 或 GBK）：{path}")


def _split(text: str) -> list[str]:
    return [part.strip() for part in SPLIT.split(text) if part.strip()]


def _choice(table: dict[str, Any], text: str, what: str, hint: str) -> Any:
    if text not in table:
        raise ValueError(f"无法识别的{what}“{text}”（应为 {hint}）")
    return table[text]


def _days(text: str) -> int:
    match = DAYS.match(text)
    if text != "即办" and not match:
        raise ValueError(f"无法识别的时限“{text}”（应为如“15个工作日”、“即办”或数字）")
    return int(match.group(1)) if match else 0


def _fee(text: str) -> dict[str, Decimal]:
    try:
        return {"amount": Decimal("0") if text in FREE else Decimal(text.removesuffix("元").strip())}
    except InvalidOperation:
        raise ValueError(f"无法识别的收费标准“{text}”（应为金额或“不收费”）") from None


def _materials(text: str, row: int, warnings: list[str]) -> list[dict[str, Any]]:
    """Parse `名称|key|必要/非必要|纸质/电子/纸质和电子|份数` lines; generate and report missing keys."""
    result: list[dict[str, Any]] = []
    generated: list[str] = []
    for index, line in enumerate(_split(text), start=1):
        name, key, required, form, copies = ([p.strip() for p in PIPE.split(line)] + [""] * 4)[:5]
        material: dict[str, Any] = {"name": name, "key": key or f"m_{index}"}
        if not key:
            generated.append(material["key"])
        try:
            if required:
                material["required"] = _choice(REQUIRED, required, "是否必要", "必要/非必要")
            if form:
                material["form"] = _choice(FORMS, form, "材料形式", "纸质/电子/纸质和电子")
            if copies:
                if not re.fullmatch(r"\d+\s*份?", copies):
                    raise ValueError(f"份数“{copies}”不是数字")
                material["copies"] = int(copies.rstrip("份"))
        except ValueError as exc:
            raise ValueError(f"第{index}项“{name}”：{exc}") from None
        result.append(material)
    if generated:
        warnings.append(f"第{row}行 申请材料：{len(generated)} 项缺少 key，已自动生成（{'、'.join(generated)}）；"
                        "跨事项复用材料需要统一的 key，请补充")
    return result


def _locations(text: str) -> list[dict[str, str]]:
    """Parse `名称|地址[|办公时间|电话]` entries."""
    result: list[dict[str, str]] = []
    for entry in _split(text):
        parts = [p.strip() for p in PIPE.split(entry)]
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise ValueError(f"“{entry}”格式应为 名称|地址")
        result.append({k: v for k, v in zip(("name", "address", "hours", "phone"), parts) if v})
    return result


def _convert(cells: dict[str, str], row: int, warnings: list[str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Turn non-empty cells into ServiceItem input; return (data, [(column, reason)] conversion errors)."""
    parsers: dict[str, Callable[[str], Any]] = {
        **dict.fromkeys(LIST_FIELDS, _split), "promised_days": _days, "legal_days": _days, "fee": _fee,
        "level": lambda t: _choice(LEVELS, t, "行使层级", "、".join(LEVEL_LABELS.values())),
        "online": lambda t: _choice(ONLINE, t, "办理形式", "全程网办、最多跑一次、到现场"),
        "materials": lambda t: _materials(t, row, warnings), "locations": _locations,
    }
    data: dict[str, Any] = {}
    errors: list[tuple[str, str]] = []
    for name, text in cells.items():
        try:
            if name != "fee_basis":
                data[name] = parsers.get(name, str)(text)
        except ValueError as exc:
            errors.append((LABELS[name], str(exc)))
    if "fee_basis" in cells:
        data.setdefault("fee", {"amount": Decimal("0")})["basis"] = cells["fee_basis"]
    return data, errors


def _pydantic_errors(exc: ValidationError) -> list[tuple[str, str]]:
    """Map pydantic errors to (column header, plain reason)."""
    result: list[tuple[str, str]] = []
    for err in exc.errors():
        loc, msg = [str(p) for p in err["loc"]], err["msg"].removeprefix("Value error, ")
        if not loc:  # model-level checks
            result.append(("承诺时限、法定时限", "承诺时限不能超过法定时限") if "promised_days" in msg
                          else ("申请材料", "申请材料 key 重复") if "material keys" in msg else ("-", msg))
            continue
        if err["type"] in ("missing", "too_short"):
            msg = "不能为空"
        elif err["type"] == "enum":
            msg = f"取值无效，应为 {err.get('ctx', {}).get('expected', '')}"
        elif err["type"] == "greater_than_equal":
            msg = f"不能小于 {err.get('ctx', {}).get('ge', 0)}"
        elif err["type"] == "string_pattern_mismatch" and loc[-1] in PATTERN_HINTS:
            msg = f"格式不对（{PATTERN_HINTS[loc[-1]]}）"
        detail = f"第{int(loc[1]) + 1}项 {'.'.join(loc[2:])}：" if len(loc) > 2 and loc[1].isdigit() else ""
        result.append((LABELS.get(loc[0], loc[0]), detail + msg))
    return result


def import_rows(path: Path) -> ImportReport:
    """Read a CSV/XLSX 实施清单 export and validate every row. Raises CatalogReadError if unreadable."""
    table = _read_table(Path(path))
    if not table:
        raise CatalogReadError(f"文件为空：{path}")
    headers = [h.lstrip("\ufeff*").strip() for h in table[0]]
    report = ImportReport()
    if unknown := [h for h in headers if h and h not in HEADERS]:
        report.warnings.append(f"忽略未识别的列：{'、'.join(unknown)}")
    seen: dict[str, int] = {}
    for row, values in enumerate(table[1:], start=2):
        if not any(values):
            continue
        cells: dict[str, str] = {}
        for header, value in zip(headers, values):  # first matching column wins
            if header in HEADERS and value:
                cells.setdefault(HEADERS[header], value)
        row_warnings: list[str] = []
        data, errors = _convert(cells, row, row_warnings)
        item: ServiceItem | None = None
        if not errors:
            try:
                item = ServiceItem.model_validate(data)
            except ValidationError as exc:
                errors = _pydantic_errors(exc)
        if item is not None and item.code in seen:
            errors = [("事项编码", f"事项编码 {item.code} 与第{seen[item.code]}行重复")]
        if errors or item is None:
            columns = "、".join(dict.fromkeys(column for column, _ in errors))
            report.rejected.append(Rejection(row, columns, "；".join(reason for _, reason in errors)))
            continue
        seen[item.code] = row
        report.items.append(item)
        report.warnings.extend(row_warnings)
    return report


def write_catalog(items: list[ServiceItem], out: Path) -> None:
    """Write items as a CatalogFile YAML; fee amounts are written as numbers."""
    data = CatalogFile(items=items).model_dump(mode="json", exclude_none=True, exclude={"bundles"})
    for raw, item in zip(data["items"], items):
        amount = item.fee.amount
        raw["fee"]["amount"] = int(amount) if amount == amount.to_integral_value() else float(amount)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def main(argv: list[str]) -> int:
    """CLI: import-catalog <file> [--out PATH] [--dry-run]. Exit 0 ok, 1 some rows rejected, 2 unreadable."""
    if argv and argv[0] == "import-catalog":
        argv = argv[1:]
    parser = argparse.ArgumentParser(prog="python -m bot import-catalog", description="导入实施清单 CSV/XLSX")
    parser.add_argument("file", type=Path)
    parser.add_argument("--out", type=Path, default=Path("intents/catalog/imported.yaml"))
    parser.add_argument("--dry-run", action="store_true", help="只检查，不写文件")
    args = parser.parse_args(argv)
    try:
        report = import_rows(args.file)
    except CatalogReadError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    print(report.render())
    if args.dry_run:
        print("试运行（--dry-run），未写入文件")
    elif report.items:
        write_catalog(report.items, args.out)
        print(f"已写入 {args.out}（{len(report.items)} 条）")
    else:
        print("没有可导入的事项，未写入文件")
    return 1 if report.rejected else 0
