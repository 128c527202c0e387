"""Short names and aliases of imported items that would send a citizen to the wrong item: one that is also a
name, short name, alias or synonym of another item (imported, or of the catalog the import sits beside) is dropped
from the imported item, and the row says so. Phrases are compared as the matcher and the publish check
(`duplicate-phrase`) see them: after the lexicon's normalisation (punctuation, case, synonyms)."""
from __future__ import annotations

import logging
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.catalog.catalog import Catalog
from bot.catalog.models import ServiceItem
from bot.dialogue.script import ScriptBook
from bot.matching.lexicon import Lexicon

NAME, SHORT_NAME, ALIAS, SYNONYM = "名称", "简称", "别名", "同义词"


@dataclass(frozen=True)
class Owner:
    """An item or bundle that a phrase names, and how (名称, 简称, 别名, 同义词)."""

    key: str
    name: str
    kind: str
    row: int | None = None  # the spreadsheet row of an imported item


@dataclass
class Beside:
    """The phrases of the content an import sits beside, by normalised text, and the normalisation."""

    normalize: Callable[[str], str]
    owners: dict[str, list[Owner]] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path, skip: str | None = None) -> "Beside":
        """The catalog, bundles and script synonyms under the content folder `folder` (an intents/), without the
        catalog file `skip` (the one the import replaces), normalised with its dictionaries/synonyms.yaml."""
        lexicon = Lexicon.load(folder / "dictionaries" / "synonyms.yaml")
        beside = cls(lexicon.normalize)
        catalog_dir = folder / "catalog"
        if not catalog_dir.is_dir():
            return beside
        with tempfile.TemporaryDirectory(prefix="catalog-beside-") as copy:
            for path in catalog_dir.glob("*.yaml"):
                if path.name != skip:
                    shutil.copy(path, copy)
            catalog = Catalog.load(Path(copy))
        scripts = ScriptBook.load(folder / "scripts", catalog, logging.getLogger("zhengwu.import"))
        owners: dict[str, list[Owner]] = defaultdict(list)
        for target in catalog.targets():
            source = target.bundle or target.items[0]
            phrases = [(NAME, target.name), (SHORT_NAME, getattr(source, "short_name", None) or ""),
                       *((ALIAS, a) for a in source.aliases), *((SYNONYM, s) for s in scripts.synonyms(target.key))]
            for kind, text in phrases:
                if text:
                    owners[lexicon.normalize(text)].append(Owner(target.key, target.name, kind))
        beside.owners = dict(owners)
        return beside


def resolve(rows: list[tuple[int, ServiceItem]], beside: Beside
            ) -> tuple[list[tuple[int, ServiceItem]], dict[int, list[str]], dict[int, str]]:
    """The imported items without a short name or alias that another item also has (but another imported row of the
    same name: one service at several offices or 情形, the bot asks which) or that repeats the item's own name, notes
    by row on what was dropped, and the rows to reject: an item whose name is a short name, alias or synonym of an
    item beside (only the catalog's editors can settle that)."""
    normalize = beside.normalize
    owners: dict[str, list[Owner]] = defaultdict(list)
    for number, item in rows:
        for kind, text in _phrases(item):
            owners[normalize(text)].append(Owner(item.code, item.name, kind, number))
    notes: dict[int, list[str]] = defaultdict(list)
    rejected: dict[int, str] = {}
    kept: list[tuple[int, ServiceItem]] = []
    for number, item in rows:
        clash = [o for o in beside.owners.get(normalize(item.name), []) if o.kind != NAME]
        if clash:
            rejected[number] = (f"事项名称「{item.name}」已是现有事项「{clash[0].name}」的{clash[0].kind}，群众说这个词时"
                                f"会被带到那个事项：请先在现有目录中删去它，再导入")
            continue
        drop: dict[str, str] = {}  # phrase -> why
        for kind, text in _phrases(item):
            if kind == NAME:
                continue
            others = [o for o in (*beside.owners.get(normalize(text), []), *owners[normalize(text)])
                      if o.key != item.code and not (o.row is not None and o.name == item.name)]
            if others:
                drop[text] = _why(kind, text, others)
            elif normalize(text) == normalize(item.name):
                drop[text] = f"[{kind}] 「{text}」与事项名称相同，已删去"
        if drop:
            notes[number] += drop.values()
            item = item.model_copy(update={
                "short_name": None if item.short_name in drop else item.short_name,
                "aliases": [a for a in item.aliases if a not in drop]})
        kept.append((number, item))
    return kept, notes, rejected


def _phrases(item: ServiceItem) -> list[tuple[str, str]]:
    return [(NAME, item.name), *([(SHORT_NAME, item.short_name)] if item.short_name else []),
            *((ALIAS, a) for a in item.aliases)]


def _why(kind: str, text: str, others: list[Owner]) -> str:
    """The row report's note on a dropped phrase: which other items also have it."""
    beside = [o for o in others if o.row is None]
    imported = sorted({o.row for o in others if o.row is not None})
    if beside:
        return f"[{kind}] 「{text}」也是现有事项「{beside[0].name}」的{beside[0].kind}，已从本事项删去"
    rows = "、".join(f"第{r}行" for r in imported[:5]) + ("等" if len(imported) > 5 else "")
    return f"[{kind}] 「{text}」也是{rows}事项的{others[0].kind}，群众用它时分不清是哪一项，已删去"
