"""Which desk answers a chat: the department (and level) of the item in context, one the citizen picked, or the
general desk (政务服务中心综合窗口)."""
from __future__ import annotations

from dataclasses import dataclass

from bot.catalog import Catalog


@dataclass(frozen=True)
class Desk:
    department: str
    level: str


def route(catalog: Catalog, target: str | None, picked: str | None, general: Desk) -> Desk:
    """The lead department of the target (an application in progress or the item last matched), else the
    department picked from `departments`, else the general desk."""
    found = catalog.target(target) if target else None
    if found is not None:
        if found.bundle is not None:
            lead = next((i for i in found.items if i.department == found.bundle.department), found.items[0])
            return Desk(found.bundle.department, lead.level.value)
        return Desk(found.items[0].department, found.items[0].level.value)
    if picked is not None:
        return next((d for d in departments(catalog) if d.department == picked), general)
    return general


def departments(catalog: Catalog) -> list[Desk]:
    """The departments of the catalog, one desk each (at the level most of its items are handled), those with the
    most items first."""
    levels: dict[str, dict[str, int]] = {}
    for item in catalog.items.values():
        counts = levels.setdefault(item.department, {})
        counts[item.level.value] = counts.get(item.level.value, 0) + 1
    ranked = sorted(levels.items(), key=lambda entry: (-sum(entry[1].values()), entry[0]))
    return [Desk(name, max(counts, key=lambda level: counts[level])) for name, counts in ranked]
