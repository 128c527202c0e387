"""A 实施清单 export (CSV or XLSX) as the file a studio draft adds: the catalog importer's YAML for the rows it
accepts, and its row report (accepted items, warnings, rejected rows with the reason) for the page."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bot.catalog.import_phrases import Beside
from bot.catalog.importer import CatalogReadError, ImportReport, import_rows, write_catalog
from bot.studio.versions import Files, materialise

IMPORTED = "catalog/imported.yaml"  # where `python -m bot import-catalog` writes by default
MAX_IMPORT_BYTES = 20 * 1024 * 1024


def imported_catalog(data: bytes, filename: str, base: Files) -> tuple[str | None, ImportReport]:
    """The catalog YAML of the accepted rows (None when no row is accepted) and the importer's report, for a draft
    of the version `base`: no short name or alias of an imported item is one of `base`'s items (the row report
    says what was dropped). Blocking (run it in a worker thread); raises CatalogReadError, naming `filename`, for a
    file that is not a table."""
    with tempfile.TemporaryDirectory(prefix="catalog-import-") as folder:
        source = Path(folder) / ("upload" + Path(filename).suffix.lower())
        source.write_bytes(data)
        beside = Beside.load(materialise(base, Path(folder) / "base"), skip=Path(IMPORTED).name)
        try:
            report = import_rows(source, beside=beside)
        except CatalogReadError as exc:
            raise CatalogReadError(str(exc).replace(str(source), filename)) from None
        if not report.items:
            return None, report
        out = Path(folder) / "imported.yaml"
        write_catalog(report.items, out)
        return out.read_text(encoding="utf-8"), report


def rows_json(report: ImportReport) -> dict[str, Any]:
    """The row report as the studio page shows it."""
    return {"accepted": [{"code": item.code, "name": item.name} for item in report.items],
            "warnings": report.warnings,
            "rejected": [{"row": r.row, "column": r.column, "reason": r.reason} for r in report.rejected]}
