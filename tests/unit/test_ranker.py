"""Properties of the hybrid matcher's lexical side and decisions, on small catalogs built for each property with
the real dictionaries (intents/dictionaries), so each fails on the matcher this one replaced: words jieba does not
know weighed nothing, long catch-all names tied with the exact short one, question words were evidence, the city
lexicon rewrote inside other words, homophones straddled word boundaries, clarify offered identical labels and
everyday requests got an item card."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.matching import Decision, Entry, Matcher
from bot.matching.lexicon import Lexicon
from bot.matching.lexicon_check import rewrites_inside_words
from bot.matching.terms import SOUND, terms

ROOT = Path(__file__).resolve().parents[2]
SYNONYMS = ROOT / "intents" / "dictionaries" / "synonyms.yaml"


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return Lexicon.load(SYNONYMS)


def matcher(lexicon: Lexicon, *entries: Entry, negatives: tuple[str, ...] = ()) -> Matcher:
    return Matcher(lexicon, entries, negatives, recent_results=0)


def test_a_word_no_dictionary_knows_still_counts(lexicon: Lexicon) -> None:
    m = matcher(lexicon, Entry("A", "食品添加剂增香剂备案"), Entry("B", "食品添加剂生产许可"),
                Entry("C", "食品经营许可"))
    result = m.match("增香剂")
    assert result.decision is Decision.match and result.candidates[0].key == "A"


def test_the_exact_short_name_beats_a_long_catch_all_name(lexicon: Lexicon) -> None:
    m = matcher(lexicon, Entry("LONG", "建筑工程施工许可证核发及变更、延续、注销、补办综合受理"),
                Entry("SHORT", "建筑工程施工许可证核发"), Entry("OTHER", "燃气经营许可证核发"))
    result = m.match("建筑工程施工许可证核发")
    assert result.decision is Decision.match and result.candidates[0].key == "SHORT"
    assert result.candidates[0].score > result.candidates[1].score


def test_question_words_are_not_evidence(lexicon: Lexicon) -> None:
    m = matcher(lexicon, Entry("MAT", "申请材料电子化归档"), Entry("JZZ", "居住证申领"), Entry("HK", "户口迁移登记"))
    result = m.match("办居住证要带什么材料")
    assert result.decision is Decision.match and result.candidates[0].key == "JZZ"
    assert m.match("要带什么材料").decision is Decision.none


def test_the_lexicon_never_rewrites_inside_a_word(lexicon: Lexicon) -> None:
    assert "提取" not in lexicon.normalize("我要取消")
    assert lexicon.normalize("不办了，取消") == "不办了取消"
    assert "提取" in lexicon.normalize("取公积金")   # a whole word is still rewritten


def test_the_typed_words_stay_next_to_their_canonical_word(lexicon: Lexicon) -> None:
    found = terms(lexicon, "广州市户籍")
    assert "w:广州" in found or "c:广州" in found


def test_no_homophone_across_a_word_boundary(lexicon: Lexicon) -> None:
    assert SOUND + " ".join(lexicon.syllables("牌出")) not in terms(lexicon, "套牌出租车")
    m = matcher(lexicon, Entry("ABROAD", "公派出国留学人员资格审核"), Entry("TAXI", "出租汽车驾驶员从业资格证核发"),
                Entry("OTHER", "道路运输经营许可"))
    top = m.match("套牌出租车").candidates[0]
    assert top.key != "ABROAD"


def test_a_homophone_inside_a_word_is_still_found(lexicon: Lexicon) -> None:
    m = matcher(lexicon, Entry("JZZ", "居住证申领"), Entry("HZ", "普通护照签发"), Entry("HK", "户口迁移登记"))
    assert m.match("居注证").candidates[0].key == "JZZ"


def test_clarify_labels_tell_the_choices_apart(lexicon: Lexicon) -> None:
    m = matcher(lexicon, Entry("P1", "危险化学品经营许可", detail="广东省应急管理厅，省级"),
                Entry("C1", "危险化学品经营许可", detail="广州市应急管理局，市级"),
                Entry("OTHER", "烟花爆竹经营许可"))
    result = m.match("危险化学品经营许可")
    assert result.decision is Decision.clarify
    labels = [c.label for c in result.candidates]
    assert len(labels) == len(set(labels)) == 2 and all("应急管理" in label for label in labels)


def test_the_same_item_with_nothing_to_tell_apart_is_one_choice(lexicon: Lexicon) -> None:
    m = matcher(lexicon, Entry("A1", "出生登记"), Entry("A2", "出生登记"), Entry("OTHER", "死亡注销户口"))
    result = m.match("出生登记")
    assert result.decision is Decision.match and result.candidates[0].name == "出生登记"


def test_out_of_scope_requests_are_none(lexicon: Lexicon) -> None:
    m = matcher(lexicon, Entry("HOTEL", "旅馆业特种行业许可证核发"), Entry("FOOD", "食品经营许可"),
                Entry("JZZ", "居住证申领"), negatives=("帮我订个酒店", "推荐个馆子", "帮我写个请假条", "明天会下雨吗"))
    for text in ("帮我订一间酒店", "推荐个好吃的馆子", "给我写一张请假条"):
        result = m.match(text)
        assert result.decision is Decision.none and result.out_of_scope, text
    assert m.match("居住证怎么办").decision is Decision.match


def test_the_check_reports_a_rewrite_inside_a_word(tmp_path: Path) -> None:
    synonyms = tmp_path / "synonyms.yaml"
    synonyms.write_text("synonyms:\n  注销:\n    - 关门\n    - 销户\n", encoding="utf-8")
    errors = rewrites_inside_words(Lexicon.load(synonyms), synonyms, ["老人去世销户口", "小卖部关门了"])
    assert [(e.line, "销户" in e.reason and "户口" in e.reason) for e in errors] == [(4, True)]
