"""Scripts pick their steps by `kind:`; a material may come between fields; a wrong kind is reported with its line."""
from __future__ import annotations

import dataclasses
import logging
import shutil
from pathlib import Path

from bot.content import Content
from bot.dialogue.engine import Inbound
from bot.dialogue.field_steps import ChoiceStep, DateStep, FieldStep
from bot.dialogue.material_steps import MaterialStep
from bot.dialogue.script import ScriptBook
from bot.uploads import Upload
from tests.chat import PNG, ROOT
from tests.engines import memory_engine

INTERLEAVED = """item: GA0030000   # 居民身份证补领
steps:
  - field: applicant_name
  - kind: material
    material: household_register
  - field: id_number
  - kind: date
    field: reason
    prompt: 身份证是哪天丢的？
"""


def book_with(tmp_path: Path, content: Content, script: str) -> ScriptBook:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    shutil.copy(ROOT / "intents" / "scripts" / "fields.yaml", scripts / "fields.yaml")
    (scripts / "lost.yaml").write_text(script, encoding="utf-8")
    return ScriptBook.load(scripts, content.catalog, logging.getLogger("tests"))


def test_each_kind_is_run_by_its_class(content: Content) -> None:
    plan = content.scripts.plan(content.catalog.target("GA0070000"))  # 出生登记: a date, a choice, materials
    kinds = {step.key: type(step) for step in plan.steps}
    assert kinds["applicant_name"] is FieldStep and kinds["child_birth_date"] is DateStep
    assert kinds["child_gender"] is ChoiceStep and MaterialStep in kinds.values()


def test_a_script_interleaves_materials_and_the_rest_follow(tmp_path: Path, content: Content) -> None:
    book = book_with(tmp_path, content, INTERLEAVED)
    assert book.errors == []
    plan = book.plan(content.catalog.target("GA0030000"))
    assert [(type(s).__name__, s.key) for s in plan.steps] == [
        ("FieldStep", "applicant_name"), ("MaterialStep", "household_register"), ("FieldStep", "id_number"),
        ("DateStep", "reason"), ("MaterialStep", "id_photo")]


def test_unknown_kind_and_material_are_reported_with_file_and_line(tmp_path: Path, content: Content) -> None:
    book = book_with(tmp_path, content, INTERLEAVED.replace("kind: date", "kind: signature"))
    assert [(e.file, e.line) for e in book.errors] == [("scripts/lost.yaml", 7)]
    assert "unknown step kind 'signature'" in book.errors[0].reason
    (tmp_path / "scripts" / "lost.yaml").write_text(INTERLEAVED.replace("household_register", "passport"),
                                                    encoding="utf-8")
    errors = ScriptBook.load(tmp_path / "scripts", content.catalog, logging.getLogger("tests")).errors
    assert len(errors) == 1 and "unknown material 'passport'" in errors[0].reason


async def test_the_engine_asks_in_the_order_of_the_script(tmp_path: Path, content: Content) -> None:
    interleaved = dataclasses.replace(content, scripts=book_with(tmp_path, content, INTERLEAVED))
    async with memory_engine(lambda: interleaved, tmp_path, licences=frozenset({"居民户口簿"})) as (engine, _):
        await engine.handle("u", Inbound(text="身份证丢了"))
        replies = await engine.handle("u", Inbound(text="/apply"))
        assert "共5步" in replies[0].text and replies[-1].key == "applicant_name"
        replies = await engine.handle("u", Inbound(text="张三"))
        assert replies[-1].type == "material_step" and replies[-1].key == "household_register"
        assert replies[-1].progress.current == 2
        assert "电子证照" not in str(replies[-1].options)  # offered once the ID number is known, not before
        replies = await engine.handle("u", Inbound(upload=Upload(filename="register.png", data=PNG)))
        assert replies[-1].type == "form_step" and replies[-1].key == "id_number"
        await engine.handle("u", Inbound(text="11010519491231002X"))
        replies = await engine.handle("u", Inbound(text="2026年11月20日"))
        assert replies[-1].key == "id_photo"
        replies = await engine.handle("u", Inbound(text="/skip"))
        summary = [f.label for f in replies[-1].fields]
        assert summary[1:4] == ["申请人姓名", "居民户口簿", "身份证号"]  # the summary follows the script too
