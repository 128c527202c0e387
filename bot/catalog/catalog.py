"""The loaded catalog: items by code, bundles by id, and what a citizen can apply for (a Target)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.catalog.models import Bundle, CatalogFile, Material, ServiceItem
from bot.content_errors import ContentError, ContentInvalid, load_model


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
    def promised_days(self) -> int:
        if self.bundle and self.bundle.promised_days is not None:
            return self.bundle.promised_days
        return max(item.promised_days for item in self.items)

    def materials(self) -> list[Material]:
        """Union of the items' materials, each key once, in first-seen order (one material set)."""
        seen: dict[str, Material] = {}
        for item in self.items:
            for material in item.materials:
                seen.setdefault(material.key, material)
        return list(seen.values())


class Catalog:
    """Immutable view over all items and bundles."""

    def __init__(self, items: list[ServiceItem], bundles: list[Bundle]) -> None:
        self.items: dict[str, ServiceItem] = {i.code: i for i in items}
        self.bundles: dict[str, Bundle] = {b.id: b for b in bundles}

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

    @classmethod
    def load(cls, directory: Path) -> "Catalog":
        """Load every *.yaml under directory; raise ContentInvalid listing every problem."""
        errors: list[ContentError] = []
        items: list[ServiceItem] = []
        bundles: list[Bundle] = []
        where: dict[str, str] = {}
        for path in sorted(directory.glob("*.yaml")):
            try:
                content = load_model(path, CatalogFile, directory.parent)
            except ContentInvalid as exc:
                errors.extend(exc.errors)
                continue
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
        return cls(items, bundles)
