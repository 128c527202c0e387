"""`python -m bot content list|publish|rollback`: content versions for operators and deploy pipelines, on the
database (and Redis) of the same ZWB_* settings as the app. Running instances switch within seconds.

  content list                                       versions, newest first; `*` marks the live one
  content publish --from DIR --message MSG [--author NAME]   check, store and make live; exit 1 on a failed check
  content rollback                                   the version live before the latest publish is live again
"""
from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path

from bot.errors import DomainError
from bot.studio.releases import GateFailed
from bot.studio.versions import read_directory


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot content", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="content versions, newest first; * marks the live one")
    publish = commands.add_parser("publish", help="check, store and make live the files of a directory")
    publish.add_argument("--from", dest="source", required=True, type=Path, help="an intents/ directory")
    publish.add_argument("--message", required=True, help="what changed and why")
    publish.add_argument("--author", default=f"cli:{getpass.getuser()}", help="recorded as the version's author")
    commands.add_parser("rollback", help="the version live before the latest publish is live again")
    return parser


async def _run(args: argparse.Namespace) -> int:
    from bootstrap import build_stores, load_settings, releases
    from bot.clock import utc_now
    from storage.migrate import upgrade

    stores = build_stores(load_settings(), utc_now)
    try:
        await upgrade(stores.db)
        store, publishing = stores.content_versions, releases(stores)
        if args.command == "list":
            live = await store.live()
            for v in await store.recent():
                mark = "*" if live and live[0] == v.id else " "
                published = f"{v.published_at:%Y-%m-%d %H:%M}" if v.published_at else "draft"
                print(f"{mark} {v.id}  {v.created_at:%Y-%m-%d %H:%M}  {published:16}  {v.source:6}  {v.author}: "
                      f"{v.message}")
            return 0
        if args.command == "publish":
            if not args.source.is_dir():
                print(f"{args.source}: not a directory", file=sys.stderr)
                return 2
            files = await asyncio.get_running_loop().run_in_executor(None, read_directory, args.source)
            version, moved = await publishing.publish_files(files, source="cli", author=args.author,
                                                            message=args.message)
            print(f"published {version.id}" if moved else f"{version.id} is live already: nothing to do")
        else:
            print(f"rolled back: {await publishing.rollback(f'cli:{getpass.getuser()}')} is live")
        await stores.shared.content_wakeups.flush()
        return 0
    except GateFailed as exc:
        print("\n".join(exc.report.errors), file=sys.stderr)
        print(f"not published: {len(exc.report.errors)} error(s)", file=sys.stderr)
        return 1
    except DomainError as exc:
        print(f"not done: {exc.reason or exc.detail}", file=sys.stderr)
        return 1
    finally:
        await stores.close()


def main(argv: list[str]) -> int:
    return asyncio.run(_run(_parser().parse_args(argv)))
