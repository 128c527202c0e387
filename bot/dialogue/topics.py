"""What a citizen may ask about an item (材料, 时限, 收费 …): the topics the catalog answers."""
from __future__ import annotations

from enum import Enum


class Topic(str, Enum):
    materials = "materials"
    time = "time"
    fee = "fee"
    conditions = "conditions"
    location = "location"
    legal = "legal"
