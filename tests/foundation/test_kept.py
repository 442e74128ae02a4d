"""The map a worker keeps things in (app.kept): bounded, the least recently used dropped first, safe across
many threads, a build made outside its lock and kept only when it succeeds."""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.kept import Kept
from tests.foundation.test_architecture import imported_modules


def test_the_least_recently_used_entry_is_dropped_first():
    kept = Kept(3)
    for key in "abc":
        kept.put(key, key.upper())
    assert kept.get("a") == "A"  # read: now the most recent
    kept.put("d", "D")
    assert kept.get("b") is None and [kept.get(k) for k in "acd"] == ["A", "C", "D"]
    assert kept.get_or_build("c", lambda: pytest.fail("kept: not built again")) == "C"
    kept.put("e", "E")  # a, the least recently read of a, c, d, goes
    assert kept.get("a", "gone") == "gone" and len(kept) == 3
    kept.put("d", "D2")  # replaced, and the most recent
    kept.put("f", "F")
    assert kept.get("c") is None and kept.get("d") == "D2"


def test_never_more_than_its_size():
    kept = Kept(5)
    for i in range(100):
        kept.get_or_build(i, lambda i=i: i * i)
        assert len(kept) == min(i + 1, 5)
    assert [kept.get(i) for i in range(95, 100)] == [i * i for i in range(95, 100)]
    kept.clear()
    assert len(kept) == 0 and kept.get(99) is None
    with pytest.raises(ValueError):
        Kept(0)


def test_a_value_of_none_is_kept_as_a_value():
    kept, calls = Kept(2), []
    for _ in range(3):
        assert kept.get_or_build("k", lambda: calls.append(1)) is None
    assert calls == [1] and kept.get("k", "missing") is None


def test_a_build_that_raises_keeps_nothing():
    kept = Kept(2)

    def broken():
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        kept.get_or_build("k", broken)
    assert len(kept) == 0 and kept.get("k", "missing") == "missing"
    assert kept.get_or_build("k", lambda: 7) == 7 and kept.get("k") == 7


def test_update_reads_and_writes_with_no_thread_in_between():
    kept = Kept(4)
    assert kept.update("k", lambda old: (old or 0) + 1) == 1

    def add(n):
        for _ in range(200):
            kept.update("k", lambda old: old + 1)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(add, range(16)))
    assert kept.get("k") == 1 + 16 * 200


def test_a_build_runs_outside_the_lock_and_the_first_value_stored_is_everyones():
    """Eight threads missing one key build it at once (a build waits for all the others: under the lock they
    could not), and all are answered with the one object kept."""
    kept, builds = Kept(4), []
    together = threading.Barrier(8, timeout=10)

    def build():
        value = object()
        builds.append(value)
        together.wait()
        return value

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda _: kept.get_or_build("k", build), range(8)))
    assert len(builds) == 8
    assert all(value is got[0] for value in got) and got[0] in builds and kept.get("k") is got[0]


def test_many_threads_on_overlapping_keys_stay_bounded_and_right():
    kept = Kept(16)
    built = []

    def work(seed: int) -> list[tuple[int, int]]:
        wrong = []
        for i in range(2_000):
            key = (seed * 7919 + i * 31) % 40
            value = kept.get_or_build(key, lambda key=key: built.append(key) or key * 3)
            if value != key * 3:
                wrong.append((key, value))
            if i % 50 == 0:
                kept.put(key, key * 3)
            assert len(kept) <= 16
        return wrong

    with ThreadPoolExecutor(32) as pool:
        assert [w for w in pool.map(work, range(32)) if w] == []
    assert len(kept) == 16 and all(kept.get(k) in (None, k * 3) for k in range(40))
    assert len(built) < 32 * 2_000  # most reads were answered from the map


def test_the_module_imports_the_standard_library_alone():
    """So that the pure packages (charts) may keep things with it too."""
    path = Path(__file__).resolve().parents[2] / "app" / "kept.py"
    assert {m.split(".")[0] for m in imported_modules(path)} <= set(sys.stdlib_module_names) | {"__future__"}
