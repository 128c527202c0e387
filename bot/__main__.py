"""`python -m bot <command>`: match, evaluate, chat, check, import-catalog, migrate, rotate-keys, add-staff,
staff (disable|revoke|rotate), purge-drafts. config.yaml and var/ are the repository's, whatever the working
directory."""
from __future__ import annotations

import importlib
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
    """Validate everything under intents/ and lint its citizen-facing text; report file:line: reason for each
    problem."""
    from bootstrap import load_settings
    from bot.content import content_phrases, load_content
    from bot.content_errors import ContentInvalid
    from bot.content_lint import lint
    from bot.matching.lexicon_check import rewrites_inside_words

    directory = Path(argv[0]) if argv else load_settings().intents_dir
    logging.basicConfig(level=logging.ERROR, format="%(message)s")
    try:
        content = load_content(directory, logging.getLogger("check"))
    except ContentInvalid as exc:
        print("\n".join(str(e) for e in exc.errors))
        return 1
    errors = [*content.scripts.errors, *lint(directory, content.prompts, content.words),
              *rewrites_inside_words(content.matcher.lexicon, directory / "dictionaries" / "synonyms.yaml",
                                     content_phrases(content))]
    for error in errors:
        print(error)
    catalog = content.catalog
    print(f"{len(catalog.items)} items, {len(catalog.bundles)} bundles, {len(content.scripts.scripts)} scripts, "
          f"online rate {catalog.online_rate():.0%}")
    return 1 if errors else 0


def _migrate(argv: list[str]) -> int:
    """Apply migrations up to a revision (default: the newest)."""
    from storage.migrate import upgrade

    async def run(stores: Stores, settings: Settings) -> None:
        await upgrade(stores.db, argv[0] if argv else "head")

    return _with_stores(run)


def _rotate_keys(argv: list[str]) -> int:
    """Re-encrypt stored personal data with the current ZWB_FIELD_KEY (old keys in ZWB_FIELD_OLD_KEYS)."""
    from storage.rotation import rotate_keys

    async def run(stores: Stores, settings: Settings) -> None:
        print(await rotate_keys(stores.db, stores.cipher))

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
            "import-catalog": "bot.catalog.importer"}
_LOCAL = {"check": _check, "migrate": _migrate, "rotate-keys": _rotate_keys, "purge-drafts": _purge_drafts,
          "add-staff": _add_staff, "staff": _staff}


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
