"""The stored state carries its schema version; what an older release stored is read or started again, never
an exception."""
from __future__ import annotations

from bot.dialogue.state import SCHEMA_VERSION, Conversation, MaterialEntry, Stage, decode, encode


def test_encoded_state_names_its_version_and_reads_back() -> None:
    state = Conversation(stage=Stage.collect, target="GA0020000", step=2, submit_key="k",
                         answers={"applicant_name": "张三"}, materials={"m": MaterialEntry(kind="deferred")})
    stored = encode(state)
    assert stored.startswith(f'{{"v":{SCHEMA_VERSION},'.encode())
    assert decode(stored) == state and decode(encode(Conversation())) == Conversation()


def test_a_state_without_version_is_the_release_before_versioning() -> None:
    old = Conversation(stage=Stage.confirm, target="GA0020000", submit_key="k").model_dump_json(exclude_defaults=True)
    assert decode(old) == Conversation(stage=Stage.confirm, target="GA0020000", submit_key="k")


def test_what_no_longer_reads_is_a_fresh_start_that_says_why_without_the_data() -> None:
    for stored in (b'{"v":2,"stage":"gone","answers":{"id_number":"11010519491231002X"}}', b'not json', b'[1]',
                   f'{{"v":{SCHEMA_VERSION + 1},"stage":"idle"}}'.encode()):
        state = decode(stored)
        assert state.recovered and "11010519491231002X" not in state.recovered
        assert state.stage is Stage.idle and state.answers == {}
    assert "recovered" not in encode(decode(b'not json')).decode()  # never stored


def test_the_application_and_last_case_are_kept_when_they_still_read() -> None:
    state = decode(b'{"stage":"gone","target":"GA0020000","submit_key":"k","last_case":"DLH1",'
                   b'"answers":{"phone":"13800138000"},"rating_level":"bad"}')
    assert state.recovered and state.stage is Stage.collect and state.target == "GA0020000"
    assert state.answers == {"phone": "13800138000"} and state.last_case == "DLH1"
