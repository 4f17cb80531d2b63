"""The run's state folder is untrusted on read: size caps, shape checks, no path from a
token; a killed submission's journal reads back truthfully; old runs are pruned."""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sovfixer_async import BulkEnhanceRun, Client, InvalidInputError
from sovfixer_async._bulk import _manifest
from sovfixer_async._bulk._manifest import Entry, Manifest, RunState, prune

pytestmark = pytest.mark.anyio


def made(root: Path, states: list[str] | None = None) -> RunState:
    state = RunState(root, str(uuid.uuid4()))
    state.create()
    entries = [
        Entry(n, s, f"job-{n}" if s == "accepted" else None, 2)
        for n, s in enumerate(states or ["pending", "pending"], start=1)
    ]
    state.write_manifest(Manifest(["PG"], entries))
    return state


def test_the_journal_of_a_killed_submission_reads_back_truthfully(tmp_path: Path) -> None:
    state = made(tmp_path, ["pending"] * 4)
    state.record(1, "sending")
    state.record(1, "accepted", "job-a")
    state.record(2, "sending")  # killed here: the server may have batch 2
    state.record(3, "sending")
    state.record(3, "pending")  # refused
    with open(state.journal, "a") as f:
        f.write('{"n": 4, "sta')  # a torn last line
    manifest = state.read()
    assert manifest is not None
    assert [(e.state, e.job_id) for e in manifest.entries] == [
        ("accepted", "job-a"),
        ("unknown", None),
        ("pending", None),
        ("pending", None),
    ]


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"v": 2},
        {"v": 1, "run": "other", "sources": [], "batches": [{}]},
        {"v": 1, "sources": ["PG"], "batches": []},
        {"v": 1, "sources": ["PG"], "batches": [{"n": 2, "state": "pending", "count": 1}]},
        {"v": 1, "sources": ["PG"], "batches": [{"n": 1, "state": "lost", "count": 1}]},
        {"v": 1, "sources": ["PG"], "batches": [{"n": 1, "state": "pending", "count": -1}]},
        {"v": 1, "sources": ["PG"], "batches": [{"n": 1, "state": "accepted", "count": 1}]},
        {
            "v": 1,
            "sources": ["PG"],
            "batches": [{"n": 1, "state": "accepted", "id": "..", "count": 1}],
        },
        {"v": 1, "sources": [7], "batches": [{"n": 1, "state": "pending", "count": 1}]},
    ],
)
def test_a_bad_manifest_is_an_input_error(tmp_path: Path, data: Any) -> None:
    state = made(tmp_path)
    if isinstance(data, dict) and "run" not in data:
        data["run"] = state.run_id
    state.manifest.write_text(json.dumps(data))
    with pytest.raises(InvalidInputError, match="manifest"):
        state.read()


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    manifest=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(
                st.sampled_from(["v", "run", "sources", "batches", "n", "state", "id", "count"]),
                inner,
                max_size=5,
            )
        ),
        max_leaves=20,
    ),
    journal=st.binary(max_size=200),
)
def test_any_manifest_and_journal_read_back_or_fail_typed(
    tmp_path: Path, manifest: Any, journal: bytes
) -> None:
    state = made(tmp_path)
    state.manifest.write_text(json.dumps(manifest))
    state.journal.write_bytes(journal)
    with contextlib.suppress(InvalidInputError):
        state.read()


def test_sizes_are_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = made(tmp_path)
    monkeypatch.setattr(_manifest, "MAX_MANIFEST_BYTES", 64)
    with pytest.raises(InvalidInputError, match="larger than 64 bytes"):
        state.read()
    state.ids(1).write_text(json.dumps(["a", "b"]))
    monkeypatch.setattr(_manifest, "MAX_IDS_BYTES", 4)
    with pytest.raises(InvalidInputError, match="larger than 4 bytes"):
        state.read_ids(1, 2)


def test_location_ids_are_checked(tmp_path: Path) -> None:
    state = made(tmp_path)
    for bad in (["a"], ["a", 2], {"a": 1}):
        state.ids(1).write_text(json.dumps(bad))
        with pytest.raises(InvalidInputError):
            state.read_ids(1, 2)
    state.ids(1).write_text('["a", "b"]')
    assert state.read_ids(1, 2) == ["a", "b"]
    assert state.read_ids(2, 2) is None  # gone: None, the caller names the batch


def test_only_old_marked_run_folders_are_pruned(tmp_path: Path) -> None:
    old, fresh = made(tmp_path), made(tmp_path)
    runs = tmp_path / "runs"
    unmarked = runs / str(uuid.uuid4())
    unmarked.mkdir()
    other = runs / "not-a-run"
    other.mkdir()
    (other / ".sovfixer-async").touch()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / ".sovfixer-async").touch()
    (outside / "manifest.json").touch()
    link = runs / str(uuid.uuid4())
    link.symlink_to(outside)
    long_ago = time.time() - 10 * 86400
    for path in (old.dir, old.manifest, unmarked, other, outside, outside / "manifest.json"):
        os.utime(path, (long_ago, long_ago))
    removed = prune(tmp_path, max_age=86400)
    assert removed == [old.dir]
    assert not old.dir.exists()
    for kept in (fresh.dir, unmarked, other, outside, link):
        assert kept.exists()


def test_a_run_id_is_never_a_path(tmp_path: Path) -> None:
    for bad in ("../x", "/tmp", "00000000-0000-0000-0000-00000000000Z"):
        with pytest.raises((InvalidInputError, ValueError)):
            RunState(tmp_path, bad)


def run_token(run_id: str, **fields: Any) -> str:
    return json.dumps({"v": 2, "kind": "bulk_run", "id": run_id, "api": "data", **fields})


@pytest.mark.parametrize(
    "fields",
    [
        {"batches": ["a"], "numbers": [3], "total": 2, "pending": [1]},  # out of range
        {"batches": ["a"], "numbers": [1], "total": 2},  # batch 2 nowhere
        {"batches": ["a"], "numbers": [1], "total": 2, "pending": [1]},  # twice
        {"batches": ["a"], "numbers": [True], "total": 1},
        {"batches": ["a"], "numbers": [1], "total": -1},
        {"batches": ["a"], "numbers": [1], "total": 10**9},
        {"batches": [], "pending": [1], "total": 1, "unknown": "1"},
        {"batches": [], "total": 0},
    ],
)
async def test_hostile_run_token_fields_are_input_errors(
    client: Client, fields: dict[str, Any]
) -> None:
    with pytest.raises(InvalidInputError):
        client.resume(run_token(str(uuid.uuid4()), **fields))


async def test_a_token_that_disagrees_with_the_manifest_is_refused(
    client: Client, tmp_path: Path
) -> None:
    state = made(client.config.state_dir, ["accepted", "pending"])
    token = run_token(state.run_id, batches=["job-other"], numbers=[1], pending=[2], total=2)
    with pytest.raises(InvalidInputError, match="manifest"):
        client.resume(token)
    fewer = run_token(state.run_id, batches=["job-1"], numbers=[1], total=1)
    with pytest.raises(InvalidInputError, match="number of batches"):
        client.resume(fewer)


async def test_the_manifest_is_newer_than_an_old_token(client: Client) -> None:
    state = made(client.config.state_dir, ["accepted", "accepted", "unknown"])
    token = run_token(state.run_id, batches=["job-1"], numbers=[1], pending=[2, 3], total=3)
    run = client.resume(token)
    assert isinstance(run, BulkEnhanceRun)
    assert [b.id for b in run.batches] == ["job-1", "job-2"]
    assert (run.pending, run.unknown) == ((), (3,))


def test_deep_nesting_is_an_input_error(tmp_path: Path) -> None:
    state = made(tmp_path)
    state.manifest.write_text("[" * 200_000)
    with pytest.raises(InvalidInputError):
        state.read()
