"""`python -m bot check` lints what citizens read: full-width punctuation, no doubled marks, no button or word a
prompt names that does not exist; each problem as file:line: reason."""
from __future__ import annotations

from pathlib import Path

from bot.__main__ import main
from bot.quality.checks import text_findings
from tests.chat import ROOT


def replace_line(path: Path, start: str, line: str) -> int:
    """Replace the line beginning with `start`; return its number."""
    lines = path.read_text(encoding="utf-8").splitlines()
    number = next(i for i, text in enumerate(lines) if text.startswith(start))
    lines[number] = line
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return number + 1


def test_the_seed_content_is_clean(content) -> None:
    assert text_findings(ROOT / "intents", content) == []


def test_a_bad_prompt_file_is_reported_with_its_lines(intents: Path, capsys) -> None:
    prompts = intents / "scripts" / "prompts.yaml"
    greeting = replace_line(prompts, "greeting:", 'greeting: 您好！请说要办的事，比如"身份证过期了"?')
    cancelled = replace_line(prompts, "cancelled:", "cancelled: 已取消。。需要时随时找我。")
    pledge = replace_line(prompts, "pledge_text:", "pledge_text: 请阅读：{text}。同意请点「我保证」。")
    fee = replace_line(prompts, "progress_fee_due:", "progress_fee_due: 办件 {number} 需缴费 {amount} 元，回复「付钱吧」。")
    assert main(["check", str(intents)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert f"scripts/prompts.yaml:{greeting}: greeting: ASCII quote \" in citizen text: use 「」 or “”" in out
    assert f"scripts/prompts.yaml:{greeting}: greeting: ASCII question mark: use ？" in out
    assert f"scripts/prompts.yaml:{cancelled}: cancelled: doubled punctuation \"。。\"" in out
    assert f"scripts/prompts.yaml:{pledge}: pledge_text: button 「我保证」 is not a label any prompt defines" in out
    assert f"scripts/prompts.yaml:{fee}: progress_fee_due: 回复「付钱吧」 is a word no command understands" in out


def test_catalog_guides_and_block_text_are_linted_at_their_line(intents: Path, content) -> None:
    guide = intents / "catalog" / "weijian.yaml"
    line = replace_line(guide, "    guide: 生一孩", '    guide: 可以在"青松办"APP网上登记。')
    script = intents / "scripts" / "id_card_renewal.yaml"
    script.write_text(script.read_text(encoding="utf-8") + "# 整理\nnote: |\n  第一行没问题。\n  第二行？？\n",
                      encoding="utf-8")
    last = len(script.read_text(encoding="utf-8").splitlines())
    found = [str(f) for f in text_findings(intents, content)]
    assert found == [f"catalog/weijian.yaml:{line}: guide: ASCII quote \" in citizen text: use 「」 or “”",
                     f"scripts/id_card_renewal.yaml:{last}: note: doubled punctuation \"？？\""]
