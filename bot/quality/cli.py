"""`python -m bot test` (golden tests) and `python -m bot report` (matching report) on a content folder.

Both read the folder from `--dir` or a stored content version (`--version ID`, or `live`; default: intents_dir of
the settings); `content_folder` is the one place that turns the arguments into a folder."""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from bot.content import Content, load_content
from bot.content_errors import ContentInvalid

if TYPE_CHECKING:
    from bot.config import Settings

LABELLED = Path(__file__).resolve().parent.parent.parent / "tests" / "data" / "utterances.tsv"


def content_folder(args: argparse.Namespace) -> Path:
    """The content folder the command runs on."""
    if args.dir is not None:
        return Path(args.dir)
    from bootstrap import load_settings  # the composition root reads config.yaml and ZWB_*
    settings = load_settings()
    if args.version is None:
        return settings.intents_dir
    folder = asyncio.run(_version_folder(settings, args.version))
    if folder is None:
        raise SystemExit(f"{args.version}: no such content version (python -m bot content list shows them)")
    return folder


async def _version_folder(settings: "Settings", version: str) -> Path | None:
    """A stored version's files written out under var/content/<id>/ (the folder the app builds it from)."""
    from bootstrap import VAR, build_stores
    from bot.clock import utc_now
    from bot.studio.versions import materialise
    from storage.migrate import upgrade

    stores = build_stores(settings, utc_now)
    try:
        await upgrade(stores.db)
        if version == "live":
            live = await stores.content_versions.live()
            version = live[0] if live else ""
        files = await stores.content_versions.files(version) if version else None
    finally:
        await stores.close()
    return materialise(files, VAR / "content") if files is not None else None


def _load(directory: Path) -> Content | None:
    try:
        return load_content(directory, logging.getLogger("zhengwu.quality"))
    except ContentInvalid as exc:
        print("\n".join(str(e) for e in exc.errors))
        return None


def _parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--dir", help="content folder (default: intents_dir of the settings)")
    where.add_argument("--version", help="a stored content version's id, or live (python -m bot content list)")
    parser.add_argument("--json", action="store_true", help="print JSON (for the studio page and pipelines)")
    return parser


def test_main(argv: list[str]) -> int:
    """Run the golden tests; exit 1 when one fails."""
    from bot.quality.golden import run_golden

    args = _parser("python -m bot test", "golden conversations and utterances of a content folder").parse_args(argv)
    report = run_golden(content_folder(args))
    print(json.dumps(report.to_json(), ensure_ascii=False) if args.json else report.table())
    return 0 if report.passed else 1


def report_main(argv: list[str]) -> int:
    """Print the matching report; with --against, the utterances answered differently from that folder."""
    from bot.quality.report import build_report, confusion_svg, labelled_sets

    parser = _parser("python -m bot report", "accuracy of the matcher on the labelled utterances")
    parser.add_argument("--against", help="content folder to compare with (e.g. the live version)")
    parser.add_argument("--data", default=str(LABELLED), help="labelled TSV (text, expected, split)")
    parser.add_argument("--svg", help="write the confusion chart of the most confused items to this file")
    args = parser.parse_args(argv)
    directory = content_folder(args)
    content = _load(directory)
    against = _load(Path(args.against)) if args.against else None
    if content is None or (args.against and against is None):
        return 1
    report = build_report(content, labelled_sets(directory, Path(args.data)), against)
    print(json.dumps(report.to_json(), ensure_ascii=False) if args.json else report.text())
    if args.svg:
        Path(args.svg).write_text(confusion_svg(report), encoding="utf-8")
    return 0
