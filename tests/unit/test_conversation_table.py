"""The conversation table covers every stage and every command, and a handler's stage is the one the state gets."""
from __future__ import annotations

from bot.dialogue.commands import Command
from bot.dialogue.state import Stage
from bot.dialogue.table import build_table


def test_every_stage_and_every_command_has_its_handler() -> None:
    table = build_table()
    assert set(table.states) == set(Stage)
    assert set(table.commands) == set(Command)
    typed = [command for command, _ in (*table.fallbacks, *table.entry_points)]
    typed += [i.command for state in table.states.values() for i in state.words.values()]
    assert set(typed) <= set(table.commands)
