"""`python -m bot <command>`: match, evaluate, chat, check, test, report, import-catalog, migrate, rotate-keys,
add-staff, staff (disable|revoke|rotate), purge-drafts, content (list|publish|rollback), backup, restore,
unmatched. config.yaml and var/ are the repository's, whatever the working
directory."""
from __future__ import annotations

import importlib
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import jieba

if TYPE_CHECKING:
    from bootstrap import Stores
    from bot.config import Settings


def _check(argv: list[str]) -> int:
    """Every check of the content under intents/ (bot/quality/checks.py), each as `file:line: reason` (or a JSON
    list with --json); exit 1 on any error, warnings shown."""
    from bootstrap import load_settings
    from bot.quality.checks import load_and_check
    from bot.quality.findings import blocking

    as_json, argv = "--json" in argv, [a for a in argv if a != "--json"]
    directory = Path(argv[0]) if argv else load_settings().intents_dir
    logging.basicConfig(level=logging.ERROR, format="%(message)s")
    content, findings = load_and_check(directory)
    if as_json:
        print(json.dumps([f.to_json() for f in findings], ensure_ascii=False))
        return 1 if blocking(findings) else 0
    for finding in findings:
        print(finding)
    if content is not None:
        catalog = content.catalog
        print(f"{len(catalog.items)} items, {len(catalog.bundles)} bundles, {len(content.scripts.scripts)} scripts, "
              f"online rate {catalog.online_rate():.0%}")
    errors = sum(f.severity == "error" for f in findings)
    print(f"{errors} errors, {len(findings) - errors} warnings")
    return 1 if blocking(findings) else 0


def _migrate(argv: list[str]) -> int:
    """Apply migrations up to a revision (default: the newest)."""
    from storage.migrate import upgrade

    async def run(stores: Stores, settings: Settings) -> None:
        await upgrade(stores.db, argv[0] if argv else "head")

    return _with_stores(run)


def _rotate_keys(argv: list[str]) -> int:
    """Re-encrypt stored personal data with the current ZWB_FIELD_KEY (old keys in ZWB_FIELD_OLD_KEYS): case and
    profile payloads, the data keys of uploaded materials, and materials still stored in clear."""
    from storage.rotation import rotate_keys

    async def run(stores: Stores, settings: Settings) -> None:
        print({**await rotate_keys(stores.db, stores.cipher), **await stores.blobs.reseal()})

    return _with_stores(run)


def _purge_drafts(argv: list[str]) -> int:
    """Delete uploads of drafts never submitted, older than draft_retention_days (the app also does it hourly)."""
    from datetime import timedelta

    from bot.clock import utc_now

    async def run(stores: Stores, settings: Settings) -> None:
        cutoff = utc_now() - timedelta(days=settings.draft_retention_days)
        purged = await stores.blobs.purge_unclaimed(cutoff)
        print(f"purged {purged} uploads of drafts last touched before {cutoff:%Y-%m-%d %H:%M} UTC")

    return _with_stores(run)


def _unmatched(argv: list[str]) -> int:
    """The most frequent groups of the unmatched inbox (masked), of the last N days (default: all kept)."""
    import argparse
    from datetime import timedelta

    from bot.clock import utc_now

    parser = argparse.ArgumentParser(prog="python -m bot unmatched")
    parser.add_argument("--days", type=int, help="only the last N days (default: unmatched_retention_days)")
    parser.add_argument("--limit", type=int, default=20)
    args = parser.parse_args(argv)

    async def run(stores: Stores, settings: Settings) -> None:
        days = min(args.days or settings.unmatched_retention_days, settings.unmatched_retention_days)
        now = utc_now()
        groups = await stores.unmatched.groups(now - timedelta(days=days), args.limit,
                                               now - timedelta(minutes=settings.unmatched_clarify_wait_minutes))
        print(f"{'count':>6}  {'last seen':16}  kinds / examples")
        for group in groups:
            kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(group.kinds.items()))
            print(f"{group.count:>6}  {group.last_seen:%Y-%m-%d %H:%M}  #{group.id} {kinds}")
            for example in group.examples:
                print(f"{'':26}{example}")
        print(f"{len(groups)} groups in the last {days} days")

    return _with_stores(run)


def _add_staff(argv: list[str]) -> int:
    """Create a staff account and print its bearer token (shown once)."""
    import argparse

    from bot.catalog.models import Level
    from bot.lifecycle import Role
    from storage.migrate import upgrade

    parser = argparse.ArgumentParser(prog="python -m bot add-staff")
    parser.add_argument("--name", required=True)
    parser.add_argument("--role", required=True, choices=[r.value for r in Role])
    parser.add_argument("--department", required=True, help="as in the catalog, e.g. 德令哈市公安局")
    parser.add_argument("--level", required=True, choices=[lv.value for lv in Level])
    args = parser.parse_args(argv)

    async def run(stores: Stores, settings: Settings) -> None:
        await upgrade(stores.db)
        staff, token = await stores.staff.add(args.name, Role(args.role), args.department, Level(args.level))
        print(f"staff {staff.id} {staff.name} ({staff.role.value}, {staff.department}, {staff.level.value})")
        print(f"valid {settings.staff_token_days} days; `python -m bot staff rotate {staff.id}` issues a new one")
        print(f"token (shown once): {token}")

    return _with_stores(run)


def _staff(argv: list[str]) -> int:
    """`staff disable <id>` ends an account; `staff revoke <id>` ends its current token now; `staff rotate <id>`
    issues a new token (printed once) in place of the old one. Exits 1 when there is no such enabled account."""
    import argparse

    from storage.migrate import upgrade

    parser = argparse.ArgumentParser(prog="python -m bot staff")
    parser.add_argument("action", choices=["disable", "revoke", "rotate"])
    parser.add_argument("id", type=int)
    args = parser.parse_args(argv)
    found = True

    async def run(stores: Stores, settings: Settings) -> None:
        nonlocal found
        await upgrade(stores.db)
        if args.action == "rotate":
            rotated = await stores.staff.rotate(args.id)
            found = rotated is not None
            if rotated is not None:
                print(f"valid until {rotated[1]:%Y-%m-%d %H:%M} UTC; the old token no longer works")
                print(f"token (shown once): {rotated[0]}")
        else:
            found = await (stores.staff.disable if args.action == "disable" else stores.staff.revoke)(args.id)
            if found:
                print(f"staff {args.id}: {'disabled' if args.action == 'disable' else 'token revoked'}")
        if not found:
            print(f"no enabled staff account {args.id}", file=sys.stderr)

    _with_stores(run)
    return 0 if found else 1


def _backup(argv: list[str]) -> int:
    """Dump the database and copy the blob folder: `backup --to DIR`."""
    from storage.backup import main as backup_main

    return backup_main(["backup", *argv])


def _restore(argv: list[str]) -> int:
    """Restore a backup into an empty database and blob folder: `restore --from DIR`."""
    from storage.backup import main as backup_main

    return backup_main(["restore", *argv])


def _with_stores(job: Callable[[Stores, Settings], Awaitable[None]]) -> int:
    """Run `job` with the stores of the repository's config.yaml (and ZWB_*), from any working directory."""
    import asyncio

    from bootstrap import build_stores, load_settings
    from bot.clock import utc_now

    settings = load_settings()

    async def run() -> None:
        stores = build_stores(settings, utc_now)
        try:
            await job(stores, settings)
        finally:
            await stores.close()

    asyncio.run(run())
    return 0


# Commands implemented in their own modules, each with a `main(argv) -> int`.
_MODULES = {"match": "bot.matching.cli", "evaluate": "bot.matching.evaluate", "chat": "bot.chat_cli",
            "import-catalog": "bot.catalog.importer", "content": "bot.studio.cli"}
_LOCAL = {"check": _check, "migrate": _migrate, "rotate-keys": _rotate_keys, "purge-drafts": _purge_drafts,
          "add-staff": _add_staff, "staff": _staff, "backup": _backup, "restore": _restore,
          "unmatched": _unmatched}
_LOCAL.update({"test": lambda argv: importlib.import_module("bot.quality.cli").test_main(argv),  # golden tests
               "report": lambda argv: importlib.import_module("bot.quality.cli").report_main(argv)})


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {**_MODULES, **_LOCAL}:
        print("usage: python -m bot {" + ",".join([*_MODULES, *_LOCAL]) + "} ...", file=sys.stderr)
        return 2
    jieba.setLogLevel(logging.WARNING)  # its start-up chatter would mix with JSON output
    if argv[0] in _LOCAL:
        return _LOCAL[argv[0]](argv[1:])
    status: int = importlib.import_module(_MODULES[argv[0]]).main(argv[1:])
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
