"""Material keys (bot/catalog/vocabulary.py): a common document has one key everywhere, anything else a key of
its own item."""
from __future__ import annotations

import pytest

from bot.catalog.importer import DEFAULT_VOCABULARY
from bot.catalog.vocabulary import MaterialVocabulary, item_key, trim


@pytest.fixture(scope="module")
def vocabulary() -> MaterialVocabulary:
    return MaterialVocabulary.load(DEFAULT_VOCABULARY)


@pytest.mark.parametrize("name, key", [
    ("居民身份证", "id_card"), ("1、申请人居民身份证原件；", "id_card"), ("《居民身份证》复印件", "id_card"),
    ("户口本", "household_register"), ("（2）居民户口簿首页及本人页", "household_register"),
    ("营业执照副本", "business_licence"), ("结婚证", "marriage_certificate"), ("出生医学证明", "birth_certificate"),
    # another person's document, or one that may be some other proof of identity: not the applicant's ID card
    ("法定代表人身份证", None), ("监护人身份证明", None), ("有效身份证件", None), ("身份证明", None),
    ("无", None), ("提价申报申请报告", None),
])
def test_common_documents_are_recognised_by_name(vocabulary: MaterialVocabulary, name: str, key: str | None) -> None:
    assert vocabulary.common_key(name) == key


def test_trim_drops_numbering_quotes_and_copy_notes() -> None:
    assert trim("3. 《医师资格证书》（复印件）；") == "医师资格证书"
    assert trim("原件") == "原件"  # nothing left would be no name: keep it


def test_item_keys_are_stable_and_never_shared_between_items() -> None:
    assert item_key("A1234567", "申请表") == item_key("A1234567", "1、申请表。")
    assert item_key("A1234567", "申请表") != item_key("B1234567", "申请表")
    assert item_key("A1234567", "申请表") != item_key("A1234567", "申请报告")


def test_a_name_in_two_documents_is_refused() -> None:
    with pytest.raises(ValueError, match="one document only"):
        MaterialVocabulary.model_validate({"documents": [{"key": "a", "names": ["结婚证"]},
                                                         {"key": "b", "names": ["结婚证"]}]})
