"""The hostile corpus: inputs that try to exhaust the server or escape the sandbox, grouped by attack.

Every one must end in a FormulaError (compiling or evaluating), never another exception, and quickly. The
budget is 50 ms per formula; the assertion allows 0.5 s of this thread's CPU time so that a loaded CI machine
does not fail it, and ``test_corpus_is_fast_overall`` checks the median against 50 ms.
"""

from __future__ import annotations

import statistics

import pytest

from app.engine import FormulaError, compile_formula
from tests.engine.support import CATALOGUE, cpu_clock

# x=10 makes towers of powers explode; the rest are realistic.
VALUES = {"x": 10.0, "y": 3.0, "w": 0.0, "z": None, "n": -4.0, "s": "text", "grade": "A", "big": 1e15,
          "orders": 10.0, "first_fix_rate": 0.9}
TAGS = {"新技术": 1}

CORPUS = {
    "power": [
        "9**9**9", "10**10**10", "2**2**2**2**2**2", "x**x**x**x", "(10**15)**2", "99999999999999**99999999",
        "2.0**1e15", "pow(2, 10**9)", "x ** 1e15", "1e15 ** 1e15", "(-1e15) ** 0.5", "0 ** -1",
        "-x ** x ** x", "ROUND(x ** 99, 2)", "MAX(1, 2) ** 10 ** 10", "(x*x*x*x*x) ** (x*x*x*x*x)",
        "PIECEWISE(x ** 1000, 0, 0, 1, 1)", "n ** 0.5", "big ** 2", "2 ** 2 ** 2 ** 2 ** 2",
    ],
    "shift_and_bits": [
        "1 << 10**9", "x << 64", "1 >> 1", "~0", "x ^ 1", "x | 1", "x & 1", "1 <<< 2", "1 << 1e15", "x >> -1",
        "x @ x", "x <<= 1",
    ],
    "repetition": [
        "'a' * 10**9", "'ab' * x", "'a' + 'b'", "grade * 10**6", "MAX(" + "1," * 480 + "1)", "[0] * 10**9",
        "(1,) * 10**9", "'a' * 3 == 'aaa'", "x * 'a'", "SUM(" + ",".join(["x*x*x*x"] * 60) + ")",
        "grade + grade + grade", "s * 2", "'%s' * 99", "x" + " + x" * 100,
    ],
    "formatting": [
        "'%s' % x", "'%999999999d' % 1", "'{}'.format(x)", "f'{x:>999999999}'", "f'{x!r}'",
        "format(x, '>999999999')", "'{0:{1}}'.format(1, 10**9)", "str(x) * 9", "'%*d' % (10**9, 1)",
        "'{:,}'.format(10**100)", "f'{x}' == 'A'", "'{0.__class__}'.format(x)",
    ],
    "attributes": [
        "x.__class__", "().__class__.__bases__[0].__subclasses__()", "x.real", "(1).__add__(1)", "''.join",
        "MAX.__globals__", "IF.__code__", "x.__dict__", "grade.upper()", "abs.__self__", "x . real",
        "(x).imag", "一次修复率.__class__",
    ],
    "dunders": [
        "__import__('os').system('id')", "__builtins__", "_", "_x", "__name__", "__class__", "__loader__",
        "__spec__", "__debug__", "___", "_一次修复率", "MAX(__builtins__)", "__import__",
    ],
    "builtins": [
        "eval('1')", "exec('1')", "open('/etc/passwd')", "compile('1', '', 'eval')", "globals()", "locals()",
        "vars()", "dir()", "getattr(x, 'real')", "type(x)", "input()", "breakpoint()", "help()", "print(1)",
        "exit()", "rand()", "randint(1)", "int('9' * 4000)", "range(10**9)", "sum(range(10**9))", "len('a')",
        "setattr(x, 'a', 1)", "memoryview(b'a')", "bytearray(10**9)", "chr(65)",
    ],
    "imports": [
        "import os", "__import__('os')", "from os import system", "importlib.import_module('os')",
        "sys.modules", "os.system('ls')", "__loader__.load_module('os')", "import_module('os')",
    ],
    "closures_and_frames": [
        "(lambda: 1)()", "(lambda f: f(f))(lambda f: f(f))", "[x for x in range(10)]", "(x for x in (1,))",
        "{x: 1 for x in (1,)}", "{x for x in (1,)}", "sys._getframe()", "MAX.__closure__",
        "f.__code__.co_consts",
        "(x for x in (1,)).gi_frame", "(yield)", "await x", "lambda: (yield)", "(y := 5) + y",
        "[y := 1, y]", "MAX(*[1, 2])", "MAX(**{'a': 1})", "IF(x, y=1)",
    ],
    "encodings": [
        "# -*- coding: rot13 -*-\n1", "\x00", "1\x00+1", "'\udcff' == grade", "b'\\x00'", "'\\N{BULLET}' * 9",
        "u'a' + 'b'", "r'\\x' + 1", "'\\x41' < 1", "\\u0031", "1 \\\n + 1", "\ufeff\x00",
        "grade == '\\" + "x41", "\x1b[31m1", "1\x7f",
    ],
    "unicode_lookalikes": [
        "ｅｖａｌ('1')", "＿＿import＿＿('os')", "ℯval('1')", "е + 1", "x․real", "x．real",
        "ﬁrst_fix_rate.real",
        "𝐞𝐯𝐚𝐥(1)", "x\u200b+1", "\u202ex+1", "ｘ.__class__", "ᵉval(1)", "x\u00a0.\u00a0real", "ｘ＋＿ｘ",
        "x\u2028.real", "Ｘ[0]", "x\u3002real", "x＜＜1",
    ],
    "parser_stress": [
        "(" * 300 + "1" + ")" * 300, "-" * 500 + "1", "not " * 200 + "1", "1" + "+1" * 499,
        "x" + " if x else x" * 80, "[" * 100, "((((", ")))))", "MAX(" * 100, "1" * 1001, "9" * 999,
        "'''" + "a" * 900, '"""', "\\" * 10, "1 +* 2", "@x", ";;;", "x;y", "1\n2", ":=", "...", "(*x)", "**x",
        "x if", "if x else y", "else", "lambda", "def f(): pass", "class A: pass", "# only a comment", "\t",
        "", "a b c", "1 2 3", "x = y = 1", "del x", "assert x", "global x", "x += 1", "IF(1,2,3,4)",
        "PIECEWISE(" + ",".join(["1"] * 451) + ")", "1e999999", "1" * 999 + "e-999", "0b2", "0o9", "1__0",
        "x" * 1000, "一" * 1000, "𝐱" * 1001, "(" * 199 + ")" * 199,
        "IF(" * 30 + "1" + ",1,1)" * 30 + "+ nope",
        "AND(" + "z," * 300 + "1/0)", "MIN(" + "-" * 90 + "1)",
    ],
}
CASES = [pytest.param(group, text, id=f"{group}-{i}") for group, texts in CORPUS.items()
         for i, text in enumerate(texts)]


def attack(text: str) -> FormulaError | None:
    try:
        compile_formula(text, CATALOGUE).evaluate(VALUES, TAGS)
    except FormulaError as exc:
        return exc
    return None


def test_corpus_size():
    assert len(CASES) >= 100
    assert len(CORPUS) >= 10


@pytest.mark.parametrize("group, text", CASES)
def test_hostile_input_is_a_formula_error(group, text):
    with cpu_clock() as clock:
        error = attack(text)
    elapsed = clock.seconds
    assert isinstance(error, FormulaError), f"{group}: {text!r} was accepted"
    assert elapsed < 0.5, f"{group}: {text!r} took {elapsed * 1000:.0f} ms"


def test_corpus_is_fast_overall():
    times = []
    for param in CASES:
        with cpu_clock() as clock:
            attack(param.values[1])
        times.append(clock.seconds)
    assert statistics.median(times) < 0.05
