"""The platform's echo baseline (`POST /__admin/echo`, a diagnostic outside the interface): parsed as a call
is, answered with a success envelope echoing the input, nothing validated or recorded. No timings here:
bench/platform_cost.py measures; these tests pin what the baseline does, so that the comparison stays fair."""

from __future__ import annotations

import json

import requests

from harness.personas import load_catalogue
from harness.platform.config import PlatformConfig
from harness.platform.core import Platform
from harness.platform.samples import SampleHis, person_input
from harness.platform.server import start_background
from harness.platform.wire import JSON_TYPE, HttpRequest


def _platform() -> Platform:
    return Platform(PlatformConfig(db_path=":memory:", seed=load_catalogue().seed))


def _envelope() -> dict:
    catalogue = load_catalogue()
    his = SampleHis.for_institution(catalogue.default_institution())
    who = catalogue.persona("filed-employee")
    return his.envelope("1101", person_input(who), who)


def test_the_echo_parses_the_envelope_and_answers_its_input_without_recording_it() -> None:
    platform = _platform()
    envelope = _envelope()
    before = len(platform.exchanges(limit="1000"))
    body = json.dumps(envelope, ensure_ascii=False).encode()
    answer = platform.echo(HttpRequest("POST", "/__admin/echo", {"content-type": JSON_TYPE}, body, ""))
    parsed = answer.json()
    assert answer.status == 200 and parsed["infcode"] == 0 and parsed["err_msg"] is None
    assert parsed["output"] == envelope["input"]
    assert len(parsed["inf_refmsgid"]) == 30 and len(parsed["refmsg_time"]) == 17
    assert len(platform.exchanges(limit="1000")) == before  # nothing validated, stored or recorded
    platform.close()


def test_the_echo_refuses_what_is_not_an_envelope_as_a_call_would() -> None:
    platform = _platform()
    for body in (b"{not json", b"[1, 2]"):
        answer = platform.echo(HttpRequest("POST", "/__admin/echo", {"content-type": JSON_TYPE}, body, "")).json()
        assert answer["infcode"] == -1 and answer["output"] is None and answer["err_msg"].startswith("/")
    platform.close()


def test_the_echo_is_served_over_http_by_the_same_stack(tmp_path) -> None:  # type: ignore[no-untyped-def]
    running = start_background(PlatformConfig(db_path=str(tmp_path / "p.sqlite"), seed=load_catalogue().seed))
    try:
        envelope = _envelope()
        answer = requests.post(running.url + "/__admin/echo", data=json.dumps(envelope).encode(),
                               headers={"Content-Type": JSON_TYPE}, timeout=10)
        assert answer.status_code == 200 and answer.json()["output"] == envelope["input"]
    finally:
        running.stop()


# --- group commit: the calls ready together share one database transaction, each answered after its COMMIT ---


def _database(tmp_path):  # type: ignore[no-untyped-def]
    from harness.platform.db import Database

    return Database(str(tmp_path / "g.sqlite"))


def test_in_a_group_each_call_still_rolls_back_alone_and_the_rest_commits(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = _database(tmp_path)
    db.open_group()
    with db.transaction() as conn:
        conn.execute("INSERT INTO meta(key, value) VALUES ('kept', '1')")
    try:
        with db.transaction() as conn:
            conn.execute("INSERT INTO meta(key, value) VALUES ('refused', '1')")
            raise RuntimeError("a refusal")
    except RuntimeError:
        pass
    assert db.grouping
    db.commit_group()
    assert not db.grouping
    db.close()
    reopened = _database(tmp_path)  # what a restart finds: the group's commit, without the refused call
    with reopened.reading() as conn:
        keys = {r[0] for r in conn.execute("SELECT key FROM meta")}
    reopened.close()
    assert "kept" in keys and "refused" not in keys


def test_calls_ready_together_share_one_commit_and_none_answers_before_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from harness.platform.app import _GroupCommit

    platform = Platform(PlatformConfig(db_path=str(tmp_path / "p.sqlite"), seed=load_catalogue().seed))
    events: list[str] = []
    commit = platform.db.commit_group

    def counted_commit() -> None:
        events.append("commit")
        commit()

    platform.db.commit_group = counted_commit  # type: ignore[method-assign]
    group = _GroupCommit(platform)

    def work(name: str) -> str:
        with platform.db.transaction() as conn:
            conn.execute("INSERT INTO meta(key, value) VALUES (?, '1')", (name,))
        events.append(f"ran {name}")
        return name

    async def call(name: str) -> None:
        events.append(f"answered {await group.run(lambda: work(name))}")

    async def both() -> None:
        await asyncio.gather(call("a"), call("b"))

    asyncio.run(both())
    platform.close()
    assert events == ["ran a", "ran b", "commit", "answered a", "answered b"]


def test_a_failed_group_commit_answers_none_of_its_calls(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from harness.platform.app import _GroupCommit

    platform = Platform(PlatformConfig(db_path=str(tmp_path / "p.sqlite"), seed=load_catalogue().seed))
    commit = platform.db.commit_group

    def failing_commit() -> None:
        platform.db.conn.execute("ROLLBACK")  # as if the disk were full: nothing of the group is committed
        commit()

    platform.db.commit_group = failing_commit  # type: ignore[method-assign]
    group = _GroupCommit(platform)

    async def both() -> list[object]:
        return await asyncio.gather(group.run(lambda: "a"), group.run(lambda: "b"), return_exceptions=True)

    results = asyncio.run(both())
    assert all(isinstance(r, Exception) for r in results)
    assert not platform.db.grouping
    with platform.db.transaction() as conn:  # the lock was released: the platform goes on
        conn.execute("INSERT INTO meta(key, value) VALUES ('after', '1')")
    platform.close()
