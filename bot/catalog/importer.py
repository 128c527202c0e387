"""Import a 实施清单 export (CSV or XLSX) into catalog YAML validated by ``ServiceItem``."""
from __future__ import annotations

import argparse
import csv
import io
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, NamedTuple

import yaml
from pydantic import ValidationError

from bot.catalog.import_cells import (EMPTY, FIELD_PREFIX, FREE, LEVELS, ONLINE, TAG_SPLIT, YES_NO, cell, choice,
                                     days, fee, locations, materials, split, visits)
from bot.catalog.import_phrases import Beside, resolve
from bot.catalog.models import LEVEL_LABELS, CatalogFile, OnlineLevel, ServiceItem
from bot.catalog.punctuation import chinese_punctuation
from bot.catalog.vocabulary import MaterialVocabulary
from bot.content_errors import ContentInvalid
from bot.matching.lexicon import Lexicon

HEADERS: dict[str, str] = {
    "事项编码": "basic_code", "实施编码": "implementation_code", "事项名称": "name", "简称": "short_name",
    "事项类型": "type", "实施主体": "department", "行使层级": "level", "设定依据": "legal_basis",
    "受理条件": "conditions", "申请材料": "materials", "收费标准": "fee", "收费依据": "fee_basis",
    "承诺时限": "promised_days", "法定时限": "legal_days", "办理形式": "online", "网办深度": "online",
    "办理地点": "locations", "办事指南": "guide", "别名": "aliases", "子项名称": "situation", "情形": "situation",
    "服务对象": "audience", "主题分类": "topics", "联办部门": "joint_departments", "到现场次数": "visits",
    "咨询电话": "consult_phone", "投诉电话": "complaint_phone", "网上预约": "booking", "办理平台": "platform",
}
LABELS: dict[str, str] = {f: h for h, f in reversed(list(HEADERS.items()))} | {"code": "实施编码"}
LIST_FIELDS = ("legal_basis", "conditions", "aliases")
TAG_FIELDS = ("audience", "topics", "joint_departments")  # 、-separated lists
PATTERN_HINTS = {"code": "应为 8-40 位数字、大写字母或“-”", "basic_code": "应为 8-40 位数字、大写字母或“-”",
                 "key": "只能用小写字母、数字和下划线，以字母开头"}
DEFAULT_VOCABULARY = Path(__file__).resolve().parents[2] / "intents" / "dictionaries" / "materials.yaml"
DEFAULT_SYNONYMS = DEFAULT_VOCABULARY.with_name("synonyms.yaml")
NOT_TEXT = frozenset({"code", "implementation_code", "basic_code", "key"})  # read by the program, not citizens


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


def _read_table(path: Path) -> list[list[str]]:
    """Read all rows of a CSV (UTF-8 with/without BOM, GBK fallback) or the first sheet of an XLSX."""
    if path.suffix.lower() not in (".csv", ".xlsx"):
        raise CatalogReadError(f"不支持的文件类型：{path.suffix}（只支持 .csv 和 .xlsx）")
    try:
        if path.suffix.lower() == ".xlsx":
            from openpyxl import load_workbook
            wb = load_workbook(path, read_only=True, data_only=True)
            try:
                return [[cell(v) for v in row] for row in wb.worksheets[0].iter_rows(values_only=True)]
            finally:
                wb.close()
        raw = path.read_bytes()
    except Exception as exc:  # missing file, corrupt zip, bad workbook...
        raise CatalogReadError(f"无法读取文件 {path}：{exc}") from exc
    for encoding in ("utf-8-sig", "gb18030"):  # gb18030 is a superset of GBK
        try:
            return [[cell(v) for v in row] for row in csv.reader(io.StringIO(raw.decode(encoding), newline=""))]
        except UnicodeDecodeError:
            continue
    raise CatalogReadError(f"无法识别文件编码（应为 UTF-8 或 GBK）：{path}")


def _punctuated(value: Any, changes: list[tuple[str, str]], key: str = "") -> Any:
    """`value` (text, or lists and mappings of it) in Chinese punctuation; each changed text added to `changes`."""
    if isinstance(value, str) and key not in NOT_TEXT:
        if (fixed := chinese_punctuation(value)) != value:
            changes.append((value, fixed))
        return fixed
    if isinstance(value, list):
        return [_punctuated(v, changes) for v in value]
    if isinstance(value, dict):
        return {k: _punctuated(v, changes, k) for k, v in value.items()}
    return value


def _excerpt(text: str, other: str, width: int = 12) -> str:
    """The part of `text` around its first difference from `other`."""
    at = next((i for i, (a, b) in enumerate(zip(text, other)) if a != b), min(len(text), len(other)))
    start = max(0, at - width)
    return ("…" if start else "") + text[start:at + width] + ("…" if at + width < len(text) else "")


class _Row:
    """One table row being converted: its data for ServiceItem, (column, reason) errors and warning notes."""

    def __init__(self, cells: dict[str, str], vocabulary: MaterialVocabulary) -> None:
        self.cells, self.vocabulary = cells, vocabulary
        self.data: dict[str, Any] = {}
        self.errors: list[tuple[str, str]] = []
        self.notes: list[str] = []

    def convert(self) -> None:
        """Turn every cell into ServiceItem input, collecting every conversion error and what was left unstated."""
        cells = self.cells
        if "implementation_code" in cells:
            self.data["code"] = cells["implementation_code"]  # the catalog key (see ServiceItem)
        parsers: dict[str, Callable[[str], Any]] = {
            **dict.fromkeys(LIST_FIELDS, split), **dict.fromkeys(TAG_FIELDS, lambda t: split(t, TAG_SPLIT)),
            "level": lambda t: choice(LEVELS, t, "行使层级", "、".join(LEVEL_LABELS.values())),
            "online": lambda t: choice(ONLINE, t, "办理形式", "全程网办、最多跑一次、到现场"),
            "booking": lambda t: choice(YES_NO, t, "网上预约", "是/否"), "visits": visits,
            "locations": lambda t: locations(t, cells.get("department", "")),
            "consult_phone": lambda t: FIELD_PREFIX.sub("", t), "complaint_phone": lambda t: FIELD_PREFIX.sub("", t),
        }
        for name, text in cells.items():
            if name in ("fee", "fee_basis", "materials", "promised_days", "legal_days") or text in EMPTY:
                continue
            self._set(name, lambda: parsers.get(name, str)(text))
        self._fee()
        self._set("materials", self._materials)
        for name, unit in (("promised_days", "promised_unit"), ("legal_days", "legal_unit")):
            self._limit(name, unit, cells.get(name, ""))
        for name in ("legal_basis", "conditions"):
            if not self.data.get(name):
                self.notes.append(f"{LABELS[name]}为空")
        if self.data.get("online") is OnlineLevel.on_site and not self.data.get("locations") \
                and LABELS["locations"] not in {c for c, _ in self.errors}:
            self.errors.append(("办理形式、办理地点", f"办理形式为“{cells.get('online')}”，但没有可去的办理地点"
                                f"（“{cells.get('locations') or '空'}”）：群众不知道去哪里办"))
        self._punctuate()

    def _punctuate(self) -> None:
        """Citizen-facing text in Chinese punctuation; one note per column saying what changed."""
        for name, value in self.data.items():
            if name in NOT_TEXT:
                continue
            changes: list[tuple[str, str]] = []
            self.data[name] = _punctuated(value, changes)
            if changes:
                text, fixed = changes[0]
                before, after = _excerpt(text, fixed), _excerpt(fixed, text)
                more = f"等 {len(changes)} 处" if len(changes) > 1 else ""
                self.notes.append(f"[{LABELS.get(name, name)}] 标点改为中文标点：“{before}”→“{after}”{more}")

    def validate(self) -> ServiceItem | None:
        """The item, or None with the model's errors added for the columns that did not already fail."""
        try:
            item = ServiceItem.model_validate(self.data)
        except ValidationError as exc:
            failed = {column for column, _ in self.errors}
            found = [(column, reason) for column, reason in _pydantic_errors(exc) if column not in failed]
            self.errors += list(dict.fromkeys(found))
            return None
        return None if self.errors else item

    def _limit(self, name: str, unit: str, text: str) -> None:
        if not text or text in EMPTY:
            self.data[name] = None
            self.notes.append(f"{LABELS[name]}未规定（“{text or '空'}”），将请群众以窗口答复为准")
            return
        try:
            self.data[name], self.data[unit] = days(text)
        except ValueError as exc:
            self.errors.append((LABELS[name], str(exc)))

    def _set(self, name: str, parse: Callable[[], Any]) -> bool:
        try:
            self.data[name] = parse()
            return True
        except ValueError as exc:
            self.errors.append((LABELS[name], str(exc)))
            return False

    def _fee(self) -> None:
        text, basis = self.cells.get("fee", ""), self.cells.get("fee_basis", "")
        if not text or (text in EMPTY and text not in FREE):
            self.data["fee"] = {"unknown": True}
            self.notes.append("收费标准未填写，将请群众以窗口答复为准（不当作免费）")
        elif not self._set("fee", lambda: fee(text)):
            return
        if basis and basis not in EMPTY:
            self.data["fee"]["basis"] = basis

    def _materials(self) -> list[dict[str, Any]]:
        code = self.cells.get("implementation_code", "")
        found, notes = materials(self.cells.get("materials", ""), code, self.vocabulary)
        self.notes.extend(notes)
        return found


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


def import_rows(path: Path, vocabulary: MaterialVocabulary | None = None, beside: Beside | None = None
                ) -> ImportReport:
    """Read a CSV/XLSX 实施清单 export and validate every row, reporting all problems of a row at once; text in
    Chinese punctuation, no short name or alias that another item (imported, or of the content `beside`) also
    has. Every change is a warning of its row. Raises CatalogReadError if unreadable."""
    table = _read_table(Path(path))
    if not table:
        raise CatalogReadError(f"文件为空：{path}")
    vocabulary = vocabulary or MaterialVocabulary.load(DEFAULT_VOCABULARY)
    headers = [h.lstrip("\ufeff*").strip() for h in table[0]]
    report = ImportReport()
    if unknown := [h for h in headers if h and h not in HEADERS]:
        report.warnings.append(f"忽略未识别的列：{'、'.join(unknown)}")
    seen: dict[str, int] = {}
    accepted: list[tuple[int, ServiceItem]] = []
    notes: dict[int, list[str]] = {}
    for number, values in enumerate(table[1:], start=2):
        if not any(values):
            continue
        cells: dict[str, str] = {}
        for header, value in zip(headers, values):  # first matching column wins
            if header in HEADERS and value:
                cells.setdefault(HEADERS[header], value)
        row = _Row(cells, vocabulary)
        row.convert()
        item = row.validate()
        code = row.data.get("code")
        if code and code in seen:
            row.errors.append(("实施编码", f"实施编码 {code} 与第{seen[code]}行重复"))
            item = None
        if row.errors or item is None:
            columns = "、".join(dict.fromkeys(column for column, _ in row.errors))
            report.rejected.append(Rejection(number, columns, "；".join(reason for _, reason in row.errors)))
            continue
        seen[item.code] = number
        accepted.append((number, item))
        notes[number] = row.notes
    kept, phrase_notes, clashes = resolve(accepted, beside or Beside(Lexicon.load(DEFAULT_SYNONYMS).normalize))
    report.rejected += [Rejection(number, "事项名称", reason) for number, reason in clashes.items()]
    report.rejected.sort(key=lambda r: r.row)
    for number, item in kept:
        report.items.append(item)
        if row_notes := notes[number] + phrase_notes.get(number, []):
            report.warnings.append(f"第{number}行：{'；'.join(row_notes)}")
    return report


def write_catalog(items: list[ServiceItem], out: Path) -> None:
    """Write items as a CatalogFile YAML without default values (a time limit of 无 is written as null); fee
    amounts are written as numbers."""
    data = CatalogFile(items=items).model_dump(mode="json", exclude_defaults=True, exclude={"bundles"})
    for raw, item in zip(data["items"], items):
        amount = item.fee.amount
        if "amount" in raw.get("fee", {}):
            raw["fee"]["amount"] = int(amount) if amount == amount.to_integral_value() else float(amount)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def main(argv: list[str]) -> int:
    """CLI: import-catalog <file> [--out PATH] [--beside DIR] [--dry-run]. Exit 0 ok, 1 some rows rejected,
    2 unreadable."""
    if argv and argv[0] == "import-catalog":
        argv = argv[1:]
    parser = argparse.ArgumentParser(prog="python -m bot import-catalog", description="导入实施清单 CSV/XLSX")
    parser.add_argument("file", type=Path)
    parser.add_argument("--out", type=Path, default=Path("intents/catalog/imported.yaml"))
    parser.add_argument("--beside", type=Path, help="内容目录（默认：--out 所在的 intents 目录）：别名不与其中的事项重复")
    parser.add_argument("--dry-run", action="store_true", help="只检查，不写文件")
    args = parser.parse_args(argv)
    folder = args.beside or args.out.parent.parent
    try:
        beside = Beside.load(folder, skip=args.out.name) if (folder / "dictionaries").is_dir() else None
        report = import_rows(args.file, beside=beside)
    except CatalogReadError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    except ContentInvalid as exc:
        print(f"错误：{folder} 的现有内容无法读取：" + "；".join(map(str, exc.errors)), file=sys.stderr)
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
