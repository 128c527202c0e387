"""What of a case one staff member works on: the items of their department and level in the case's target.

A single item is wholly its department's. On a 一件事 bundle each department has its part (its items and their
materials); the lead department (牵头部门), which accepts the bundle at one window, has the whole case."""
from __future__ import annotations

from dataclasses import dataclass

from bot.catalog import Catalog
from bot.catalog.models import ServiceItem
from bot.staff import Staff


@dataclass(frozen=True)
class Part:
    items: tuple[ServiceItem, ...]
    whole: bool  # a single item, or the lead department of a bundle

    @property
    def material_keys(self) -> frozenset[str]:
        return frozenset(m.key for item in self.items for m in item.materials)


def _own(item: ServiceItem, staff: Staff) -> bool:
    return item.department == staff.department and item.level == staff.level


def scope_targets(catalog: Catalog, staff: Staff) -> list[str]:
    """Items and bundles with at least one item of the staff member's department and level."""
    return [t.key for t in catalog.targets() if any(_own(i, staff) for i in t.items)]


def part_of(catalog: Catalog, staff: Staff, target_key: str) -> Part | None:
    """The staff member's part of a target; None when it lies outside their department and level."""
    target = catalog.target(target_key)
    own = tuple(i for i in target.items if _own(i, staff)) if target else ()
    if target is None or not own:
        return None
    return Part(items=own, whole=target.bundle is None or target.bundle.department == staff.department)
