"""`python -m bot check` reports catalog facts that contradict the dialogue, each as file:line: reason."""
from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

from bot.__main__ import main
from bot.catalog.consistency import consistency_errors
from tests.chat import ROOT


def item(code: str, online: str = "one_visit", materials: str = "", extra: str = "") -> str:
    """One catalog item as YAML (under `items:`), with the given materials block and extra keys."""
    return textwrap.indent(textwrap.dedent(f"""\
        - code: {code}
          implementation_code: {code}-1
          name: 事项{code}
          type: 公共服务
          department: 德令哈市卫生健康委员会
          level: city
          promised_days: 1
          legal_days: 5
          online: {online}
          locations:
            - name: 窗口
              address: 德令哈市
        """) + textwrap.indent(textwrap.dedent(extra), "  ") + textwrap.indent(textwrap.dedent(materials), "  "), "  ")


CERTIFICATE = """\
materials:
  - key: certificate
    name: 出生医学证明
"""


def write(intents: Path, catalog: str, script: str | None = None) -> None:
    (intents / "catalog").mkdir(parents=True)
    (intents / "scripts").mkdir()
    (intents / "catalog" / "test.yaml").write_text(catalog, encoding="utf-8")
    if script is not None:
        (intents / "scripts" / "one.yaml").write_text(script, encoding="utf-8")


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)


def test_the_seed_catalog_has_no_contradiction() -> None:
    assert consistency_errors(ROOT / "intents") == []


def test_a_bundle_item_needing_what_a_later_item_issues_is_reported_at_its_line(tmp_path: Path) -> None:
    catalog = ("items:\n" + item("AA0000001", materials=CERTIFICATE)
               + item("AA0000002", extra="produces:\n  - certificate\n")
               + "bundles:\n  - id: born\n    name: 出生\n    department: 卫健委\n    guide: 一次办\n"
               + "    items:\n      - AA0000001\n      - AA0000002\n")
    write(tmp_path, catalog)
    [error] = consistency_errors(tmp_path)
    assert error.file == "catalog/test.yaml" and error.line == line_of(tmp_path / "catalog/test.yaml", "- AA0000001")
    assert "AA0000001 needs certificate" in error.reason and "list AA0000002 first" in error.reason


def test_a_bundle_in_the_right_order_is_clean(tmp_path: Path) -> None:
    catalog = ("items:\n" + item("AA0000002", extra="produces:\n  - certificate\n")
               + item("AA0000001", materials=CERTIFICATE)
               + "bundles:\n  - id: born\n    name: 出生\n    department: 卫健委\n    guide: 一次办\n"
               + "    items:\n      - AA0000002\n      - AA0000001\n")
    write(tmp_path, catalog)
    assert consistency_errors(tmp_path) == []


def test_an_issuing_item_that_does_not_declare_it_is_reported_at_its_bundle_line(tmp_path: Path) -> None:
    issuer = item("AA0000002").replace("name: 事项AA0000002", "name: 出生医学证明签发")
    catalog = ("items:\n" + issuer + item("AA0000001", materials=CERTIFICATE)
               + "bundles:\n  - id: born\n    name: 出生\n    department: 卫健委\n    guide: 一次办\n"
               + "    items:\n      - AA0000002\n      - AA0000001\n")
    write(tmp_path, catalog)
    [error] = consistency_errors(tmp_path)
    assert error.line == line_of(tmp_path / "catalog/test.yaml", "- AA0000002")
    assert "AA0000002 出生医学证明签发 issues 出生医学证明, which AA0000001 asks for" in error.reason
    assert "declare `produces: [certificate]`" in error.reason


def test_a_bundle_script_asking_for_what_its_item_issues_is_reported_at_the_step(tmp_path: Path) -> None:
    catalog = ("items:\n" + item("AA0000002", extra="produces:\n  - certificate\n")
               + item("AA0000001", materials=CERTIFICATE)
               + "bundles:\n  - id: born\n    name: 出生\n    department: 卫健委\n    guide: 一次办\n"
               + "    items:\n      - AA0000002\n      - AA0000001\n")
    script = "bundle: born\nsteps:\n  - field: applicant_name\n  - kind: material\n    material: certificate\n"
    write(tmp_path, catalog, script)
    [error] = consistency_errors(tmp_path)
    assert (error.file, error.line) == ("scripts/one.yaml", 5)
    assert "asks for certificate, which its item AA0000002 issues" in error.reason


def test_an_item_asking_for_what_it_issues_itself_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "items:\n" + item("AA0000001", materials=CERTIFICATE, extra="produces:\n  - certificate\n"))
    [error] = consistency_errors(tmp_path)
    assert error.line == line_of(tmp_path / "catalog/test.yaml", "key: certificate")
    assert "which it issues itself" in error.reason


def test_deferral_of_a_material_that_is_not_required_is_reported_at_its_line(tmp_path: Path) -> None:
    optional = "materials:\n  - key: photo\n    name: 照片\n    required: false\n    deferrable: true\n"
    required = "materials:\n  - key: photo\n    name: 照片\n    deferrable: true\n"
    write(tmp_path, "items:\n" + item("AA0000001", materials=optional) + item("AA0000002", materials=required))
    [error] = consistency_errors(tmp_path)
    assert error.line == line_of(tmp_path / "catalog/test.yaml", "deferrable: true")
    assert "photo of AA0000001 is not required" in error.reason and "容缺" in error.reason


def test_an_on_site_item_with_online_steps_is_reported_at_its_steps(tmp_path: Path) -> None:
    script = "item: AA0000001\nsteps:\n  - field: applicant_name\nfaq:\n  - ask: [预约]\n    answer: 请到窗口。\n"
    write(tmp_path, "items:\n" + item("AA0000001", online="on_site"), script)
    [error] = consistency_errors(tmp_path)
    assert (error.file, error.line) == ("scripts/one.yaml", 3)
    assert "on site" in error.reason


def test_an_on_site_item_with_faq_only_is_clean_and_an_online_one_is_not(tmp_path: Path) -> None:
    faq_only = "item: AA0000001\nfaq:\n  - ask: [预约]\n    answer: 请到窗口。\n"
    write(tmp_path, "items:\n" + item("AA0000001", online="on_site"), faq_only)
    assert consistency_errors(tmp_path) == []
    (tmp_path / "catalog" / "test.yaml").write_text("items:\n" + item("AA0000001"), encoding="utf-8")
    [error] = consistency_errors(tmp_path)
    assert (error.file, error.line) == ("scripts/one.yaml", 1) and "has no steps" in error.reason


def test_an_on_site_item_without_a_window_is_reported(tmp_path: Path) -> None:
    catalog = "items:\n" + item("AA0000001", online="on_site").replace(
        "    locations:\n      - name: 窗口\n        address: 德令哈市\n", "")
    write(tmp_path, catalog)
    [error] = consistency_errors(tmp_path)
    assert error.line == line_of(tmp_path / "catalog/test.yaml", "online: on_site") and "no location" in error.reason


def test_an_on_site_bundle_item_must_say_what_the_citizen_gets_there(tmp_path: Path) -> None:
    bundle = ("bundles:\n  - id: born\n    name: 出生\n    department: 卫健委\n    guide: 一次办\n"
              "    items:\n      - AA0000001\n      - AA0000002\n")
    write(tmp_path, "items:\n" + item("AA0000001") + item("AA0000002", online="on_site") + bundle)
    [error] = consistency_errors(tmp_path)
    assert error.line == line_of(tmp_path / "catalog/test.yaml", "- AA0000002") and "`result`" in error.reason
    (tmp_path / "catalog" / "test.yaml").write_text(
        "items:\n" + item("AA0000001") + item("AA0000002", online="on_site", extra="result: 接种证\n") + bundle,
        encoding="utf-8")
    assert consistency_errors(tmp_path) == []


def test_make_check_reports_the_contradictions_of_the_shipped_content(tmp_path: Path, capsys) -> None:
    intents = tmp_path / "intents"
    shutil.copytree(ROOT / "intents", intents)
    gongan = intents / "catalog" / "gongan.yaml"
    text = gongan.read_text(encoding="utf-8")
    proof = "        name: 就业或就读证明（劳动合同、营业执照或学校出具的在读证明，任选其一）\n        required: false\n"
    gongan.write_text(text.replace(proof, proof + "        deferrable: true\n"), encoding="utf-8")
    bundles = intents / "catalog" / "bundles.yaml"  # 出生登记 before the item that issues its certificate
    bundles.write_text(bundles.read_text(encoding="utf-8").replace(
        "      - WJ0020000  # 出生医学证明签发\n      - WJ0030000  # 预防接种证办理\n      - GA0070000  # 出生登记\n",
        "      - GA0070000  # 出生登记\n      - WJ0020000  # 出生医学证明签发\n      - WJ0030000  # 预防接种证办理\n"),
        encoding="utf-8")
    (intents / "scripts" / "temporary_id.yaml").write_text(
        "item: GA0040000\nsteps:\n  - field: applicant_name\n", encoding="utf-8")
    assert main(["check", str(intents)]) == 1
    out = capsys.readouterr().out.splitlines()
    deferrable = line_of(gongan, "name: 就业或就读证明") + 2
    assert (f"catalog/gongan.yaml:{deferrable}: material employment_or_study_proof of GA0050000 is not required: "
            "it can be skipped, so 容缺 (deferrable) makes no sense") in out
    assert any(line.startswith(f"catalog/bundles.yaml:{line_of(bundles, '- GA0070000')}: bundle newborn: "
                               "GA0070000 needs birth_medical_certificate, which WJ0020000 issues") for line in out)
    assert any(line.startswith("scripts/temporary_id.yaml:3: GA0040000 is done on site") for line in out)
