"""What a worker keeps in hand: a bounded map, safe across threads, that drops the least recently used entry
past its size. Pure Python (no Flask, no SQLAlchemy), so that every layer may keep things with it, charts too.

:meth:`Kept.get_or_build` builds a missing entry OUTSIDE the lock, on purpose: a build is typically a
statement or a parse, and a lock held across it would make every other request for any key of the map wait
for it. Two threads asking for the same missing key at once may therefore both build it (builds are pure:
the same key gives an equal value); the first value stored is the one kept, and both get that very object,
so what is kept stays shared. A build that raises keeps nothing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
_MISSING = object()


class Kept(Generic[K, V]):
    """At most ``size`` entries, the least recently read or written dropped first."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"a Kept holds at least one entry, not {size}")
        self.size = size
        self._lock = threading.Lock()
        self._kept: OrderedDict[K, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, key: K, default: V | None = None) -> V | None:
        """The entry kept under ``key`` (now the most recently used), else ``default``."""
        with self._lock:
            value = self._kept.get(key, _MISSING)
            if value is _MISSING:
                return default
            self._kept.move_to_end(key)
            return value

    def get_or_build(self, key: K, build: Callable[[], V]) -> V:
        """The entry kept under ``key``, else ``build()`` kept (built outside the lock: see the module)."""
        value = self.get(key, _MISSING)
        if value is not _MISSING:
            return value
        value = build()
        with self._lock:
            first = self._kept.get(key, _MISSING)
            if first is not _MISSING:  # another thread built it meanwhile: theirs is kept and shared
                self._kept.move_to_end(key)
                return first
            self._store(key, value)
        return value

    def put(self, key: K, value: V) -> None:
        """Keeps ``value`` under ``key`` (replacing what was there), as the most recently used."""
        with self._lock:
            self._store(key, value)

    def update(self, key: K, change: Callable[[V | None], V]) -> V:
        """Keeps ``change(the entry under key, or None)`` under ``key`` and returns it: a read and a write
        that no other thread comes between. ``change`` runs under the lock: it must be short (no statement)
        and must not use this map."""
        with self._lock:
            value = change(self._kept.get(key))
            self._store(key, value)
            return value

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()

    def _store(self, key: K, value: V) -> None:
        self._kept[key] = value
        self._kept.move_to_end(key)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)
