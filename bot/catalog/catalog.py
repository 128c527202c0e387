"""The loaded catalog: items by code, bundles by id, and what a citizen can apply for (a Target)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from bot.catalog.models import Bundle, CatalogFile, DayUnit, Material, OnlineLevel, ServiceItem, TimeLimit
from bot.content_cache import DiskCache
from bot.content_errors import ContentError, ContentInvalid, load_model
from bot.workdays import Deadline, WorkdayCalendar


@dataclass(frozen=True)
class Target:
    """Something a citizen applies for in one conversation: a single item or a 一件事 bundle."""

    key: str                      # item code, or "bundle:<id>"
    name: str
    items: tuple[ServiceItem, ...]
    bundle: Bundle | None = None

    @property
    def is_bundle(self) -> bool:
        return self.bundle is not None

    @property
    def promised(self) -> TimeLimit | None:
        """承诺时限: the bundle's, else the longest of the items'; None when an item states none (无)."""
        if self.bundle and self.bundle.promised_days is not None:
            return TimeLimit(self.bundle.promised_days, DayUnit.workday)
        return _longest([item.promised for item in self.items])

    @property
    def legal(self) -> TimeLimit | None:
        """法定时限: the longest of the items'; None when an item states none (无)."""
        return _longest([item.legal for item in self.items])

    def deadline(self, calendar: WorkdayCalendar, start: date) -> Deadline:
        """The case's promised date: 工作日 limits skip weekends and holidays, 自然日 limits do not. Without a
        promised limit the legal one counts; with neither (无), the day itself (or the next working day)."""
        limit = self.promised or self.legal or TimeLimit(0, DayUnit.workday)
        if limit.unit is DayUnit.calendar:
            return Deadline(start + timedelta(days=limit.days), provisional=False)
        return calendar.add_workdays(start, limit.days)

    @property
    def on_site(self) -> bool:
        """需到现场办理: a single item that cannot be applied for online (a checklist, never a case)."""
        return not self.is_bundle and self.items[0].online is OnlineLevel.on_site

    @property
    def produced(self) -> frozenset[str]:
        """Keys of the materials the target's own items issue."""
        return frozenset(key for item in self.items for key in item.produces)

    def materials(self) -> list[Material]:
        """Union of the items' materials, each key once, in first-seen order (one material set); a material one
        of the target's own items issues is never asked for."""
        seen: dict[str, Material] = {}
        produced = self.produced
        for item in self.items:
            for material in item.materials:
                if material.key not in produced:
                    seen.setdefault(material.key, material)
        return list(seen.values())


def _longest(limits: list[TimeLimit | None]) -> TimeLimit | None:
    stated = [limit for limit in limits if limit is not None]
    if len(stated) < len(limits) or not stated:
        return None
    return max(stated, key=lambda limit: limit.approx_calendar_days)


class Catalog:
    """Immutable view over all items and bundles."""

    def __init__(self, items: list[ServiceItem], bundles: list[Bundle], files: tuple[CatalogFile, ...] = ()) -> None:
        self.items: dict[str, ServiceItem] = {i.code: i for i in items}
        self.bundles: dict[str, Bundle] = {b.id: b for b in bundles}
        self._files = files   # held so that versions loaded from the same files keep sharing them (Catalog.load)

    def target(self, key: str) -> Target | None:
        """Resolve an item code or 'bundle:<id>' to a Target."""
        if key.startswith("bundle:"):
            bundle = self.bundles.get(key.removeprefix("bundle:"))
            if bundle is None:
                return None
            return Target(key, bundle.name, tuple(self.items[c] for c in bundle.items), bundle)
        item = self.items.get(key)
        return Target(key, item.name, (item,)) if item else None

    def targets(self) -> list[Target]:
        """Every item and bundle, items first."""
        keys = list(self.items) + [f"bundle:{b}" for b in self.bundles]
        return [t for k in keys if (t := self.target(k)) is not None]

    def online_rate(self) -> float:
        """网上可办率: share of items that can be done fully online."""
        if not self.items:
            return 0.0
        return sum(i.online.value == "full_online" for i in self.items.values()) / len(self.items)

    def online_rates(self) -> dict[str, float]:
        """网上可办率 per department: share of its items that can be done fully online."""
        online: dict[str, list[bool]] = {}
        for item in self.items.values():
            online.setdefault(item.department, []).append(item.online.value == "full_online")
        return {department: sum(done) / len(done) for department, done in sorted(online.items())}

    @classmethod
    def load(cls, directory: Path, cache: DiskCache | None = None) -> "Catalog":
        """Load every *.yaml under directory (parsed files kept in `cache`); raise ContentInvalid listing every
        problem."""
        errors: list[ContentError] = []
        items: list[ServiceItem] = []
        bundles: list[Bundle] = []
        where: dict[str, str] = {}
        files: list[CatalogFile] = []
        for path in sorted(directory.glob("*.yaml")):
            try:
                content = load_model(path, CatalogFile, directory.parent, cache)
            except ContentInvalid as exc:
                errors.extend(exc.errors)
                continue
            files.append(content)
            for item in content.items:
                if item.code in where:
                    errors.append(ContentError(path.name, 1, f"duplicate item code {item.code} (also in {where[item.code]})"))
                where[item.code] = path.name
                items.append(item)
            bundles.extend(content.bundles)
        codes = {i.code for i in items}
        for bundle in bundles:
            missing = [c for c in bundle.items if c not in codes]
            if missing:
                errors.append(ContentError("catalog", 1, f"bundle {bundle.id} names unknown items {missing}"))
        if errors:
            raise ContentInvalid(errors)
        return cls(items, bundles, tuple(files))
