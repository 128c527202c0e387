"""Small talk a citizen may send at any point (words in intents/dictionaries/phrases.yaml)."""
from __future__ import annotations

from enum import Enum


class SmallTalk(str, Enum):
    greeting = "greeting"  # 你好
    presence = "presence"  # 在吗
    thanks = "thanks"      # 谢谢
    goodbye = "goodbye"    # 再见
