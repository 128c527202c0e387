"""`python -m bot match "<text>" [--json]`: what the matcher makes of an utterance.

Without text, reads one utterance per line from stdin and prints one JSON object per line.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from bot.matching.matcher import MatchResult


def _line(result: MatchResult) -> str:
    parts = [f"{c.name} [{c.key}] {c.score:.2f} ({'/'.join(c.terms)})" for c in result.candidates]
    return f"{result.decision.value}: " + ("; ".join(parts) if parts else "-")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot match", description=__doc__.splitlines()[0])
    parser.add_argument("text", nargs="*", help="the utterance (omit to read lines from stdin)")
    parser.add_argument("--json", action="store_true", help="print MatchResult JSON")
    parser.add_argument("--intents", default="intents")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)

    from bot.content import load_content
    logging.getLogger("jieba").setLevel(logging.WARNING)
    matcher = load_content(Path(args.intents), logging.getLogger("bot.match")).matcher
    if args.text:
        result = matcher.match(" ".join(args.text))
        print(json.dumps(result.to_json(), ensure_ascii=False) if args.json else _line(result))
        return 0
    for line in sys.stdin:
        line = line.strip()
        if line:
            result = matcher.match(line)
            print(json.dumps(result.to_json(), ensure_ascii=False),
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
