"""Shared by the engine tests: a catalogue with short test names, their values, and the three-way check."""

from __future__ import annotations

import gc
import time
from contextlib import contextmanager

from app.engine import FormulaError, builtin_catalogue, compile_formula

# x=2, y=3, w=0, z is N/A; grade is a text variable, s a number variable that holds a text by mistake.
CATALOGUE = builtin_catalogue().with_names(["x", "y", "w", "z", "n", "s", "grade", "big"],
                                           kinds={"grade": "text"})
VALUES = {"x": 2.0, "y": 3.0, "w": 0.0, "z": None, "n": -4.0, "s": "text", "grade": "A", "big": 1e15,
          "first_fix_rate": 0.92, "orders": 10.0, "satisfaction": 4.0}
TAGS = {"新技术": 3, "增值服务": 0}


def outcome(call):
    """('ok', value) or ('error', code) of a call, so that two paths can be compared in one assert."""
    try:
        return "ok", call()
    except FormulaError as exc:
        return "error", exc.code


def run(text: str, values=VALUES, tags=TAGS):
    """Evaluate ``text`` three ways (closures, traced closures, simpleeval reference), assert they agree,
    and return the value (or raise the FormulaError they all raised)."""
    formula = compile_formula(text, CATALOGUE)
    fast = outcome(lambda: formula.evaluate(values, tags))
    traced = outcome(lambda: formula.explain(values, tags)[0])
    reference = outcome(lambda: formula.reference(values, tags))
    assert fast == traced == reference, (text, fast, traced, reference)
    return formula.evaluate(values, tags)


def code_of(text: str, values=VALUES, tags=TAGS) -> str | None:
    """The error code of compiling and evaluating ``text``, None when it succeeds."""
    try:
        run(text, values, tags)
    except FormulaError as exc:
        return exc.code
    return None


class _Clock:
    seconds = 0.0


@contextmanager
def cpu_clock():
    """This thread's CPU seconds spent in the block, with the garbage collector held off meanwhile.

    The guards built on it catch a runaway evaluation (minutes); a full collection of the test process's
    heap, late in a long suite, can take a second by itself and is not the formula's time.
    """
    clock = _Clock()
    enabled = gc.isenabled()
    gc.disable()
    start = time.thread_time()
    try:
        yield clock
    finally:
        clock.seconds = time.thread_time() - start
        if enabled:
            gc.enable()
