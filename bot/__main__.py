"""`python -m bot <command>`: match, evaluate, chat, check, import-catalog, migrate."""
from __future__ import annotations

import importlib
import logging
import sys

import jieba


def _check(argv: list[str]) -> int:
    """Validate everything under intents/ and report file:line: reason for each problem."""
    from pathlib import Path

    from bot.content import load_content
    from bot.content_errors import ContentInvalid

    directory = Path(argv[0]) if argv else Path("intents")
    logging.basicConfig(level=logging.ERROR, format="%(message)s")
    try:
        content = load_content(directory, logging.getLogger("check"))
    except ContentInvalid as exc:
        print("\n".join(str(e) for e in exc.errors))
        return 1
    for error in content.scripts.errors:
        print(error)
    catalog = content.catalog
    print(f"{len(catalog.items)} items, {len(catalog.bundles)} bundles, {len(content.scripts.scripts)} scripts, "
          f"online rate {catalog.online_rate():.0%}")
    return 1 if content.scripts.errors else 0


def _migrate(argv: list[str]) -> int:
    import asyncio
    from pathlib import Path

    from sqlalchemy.ext.asyncio import create_async_engine

    from bot.config import Settings
    from storage.migrate import upgrade

    settings = Settings.load(Path("config.yaml"))

    async def run() -> None:
        engine = create_async_engine(settings.database_url)
        await upgrade(engine, argv[0] if argv else "head")
        await engine.dispose()

    asyncio.run(run())
    return 0


# Commands implemented in their own modules, each with a `main(argv) -> int`.
_MODULES = {"match": "bot.matching.cli", "evaluate": "bot.matching.evaluate", "chat": "bot.chat_cli",
            "import-catalog": "bot.catalog.importer"}
_LOCAL = {"check": _check, "migrate": _migrate}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {**_MODULES, **_LOCAL}:
        print("usage: python -m bot {" + ",".join([*_MODULES, *_LOCAL]) + "} ...", file=sys.stderr)
        return 2
    jieba.setLogLevel(logging.WARNING)  # its start-up chatter would mix with JSON output
    if argv[0] in _LOCAL:
        return _LOCAL[argv[0]](argv[1:])
    return importlib.import_module(_MODULES[argv[0]]).main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
