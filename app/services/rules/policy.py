"""policy.toml in the editor: the form ⇄ the file's tables, its canonical text, saving a draft's.

The form shows shares as percentages (``20`` for ``max = 0.20``) and money in yuan; it is read into the
tables of policy.toml (``app.rules.policy`` and ``app.rules.incentive`` describe them), checked with the
whole draft, and stored canonically among the draft's extras (fixed key order, numbers as tomli_w writes
them), so the same content always gives the same text. An empty form removes the file.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import tomli_w
from sqlalchemy.orm import Session

from ...rules import POLICY_FILE, RuleSet, has_errors
from ...rules.model import NA, Problem, expr_text, norm_number
from ...rules.policy import BOTH, NETWORK, STATION, PolicyFile, read_policy_file
from ...rules.pools import money_text
from .drafts import draft_or_raise
from .errors import RuleRefused
from .files import check_ruleset
from .store import dumps, version_document

SCOPES = (BOTH, NETWORK, STATION)  # the form's order: the default first
HEADER = "# 强制分布与绩效奖金 Distribution policy and incentives. 格式说明 / format: README.md\n"
LIMIT_COLUMNS = ("limit_grade", "limit_min", "limit_max", "limit_scope")
POOL_COLUMNS = ("pool_station", "pool_amount")
TEST_COLUMNS = ("itest_name", "itest_inputs", "itest_expected", "itest_capped")
_SPLIT = re.compile(r"[,;，；\n]+")
_MONEY = re.compile(r"[¥￥,，\s]|元$")


# ---------------------------------------------------------------------------------------------
# numbers as typed


def _decimal(text: str) -> Decimal | None:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _plain(number: Decimal) -> int | float:
    """A Decimal as the TOML number it is written as: an int when whole."""
    if number == number.to_integral_value():
        return int(number)
    return float(number)


def percent_text(share: Any) -> str:
    """A stored share as the form shows it: 0.2 → "20", 0.125 → "12.5"; anything else as it is."""
    number = norm_number(share)
    if number is None:
        return "" if share is None else str(share)
    percent = (Decimal(repr(number)) * 100).normalize()
    return format(percent, "f")


def money_input_text(value: Any) -> str:
    number = norm_number(value)
    if number is None:
        return "" if value is None else str(value)
    return format(Decimal(repr(number)).normalize(), "f")


def _item_of_limit(grade: str, n: int) -> str:
    """What check() calls a limit (so a typing problem and the check's land on the same row)."""
    return f"distribution limit {grade}" if grade else f"distribution limit #{n}"


def _bad(item: str, field: str, zh: str, en: str) -> Problem:
    return Problem(POLICY_FILE, item, field, "BAD_VALUE", zh, en)


def _share(text: str, item: str, field: str, problems: list[Problem]) -> Any:
    """A percentage as typed → the share (0..1); the text itself when it cannot be read."""
    number = _decimal(text.strip().rstrip("%％").strip())
    if number is None or not 0 <= number <= 100:
        problems.append(_bad(item, field, f"请填写 0 到 100 之间的百分数（如 20 表示 20%），而不是“{text}”",
                             f"give a percentage between 0 and 100 (e.g. 20 for 20 %), not “{text}”"))
        return text
    return _plain(number / 100)


def _money(text: str, item: str, field: str, problems: list[Problem]) -> Any:
    """An amount in yuan as typed ("5,000", "¥5000", "1234.50") → a number; the text when unreadable."""
    number = _decimal(_MONEY.sub("", text))
    if number is None or number < 0:
        problems.append(_bad(item, field, f"请填写不小于 0 的金额（元），而不是“{text}”",
                             f"give an amount of at least 0 (yuan), not “{text}”"))
        return text
    return _plain(number)


def _inputs(text: str, item: str, problems: list[Problem]) -> dict:
    """``bonus_base=2000, coefficient=1, grade=B`` → {"bonus_base": 2000, "coefficient": 1, "grade": "B"};
    ``N/A`` stays "N/A"; a value that is no number is text (a grade)."""
    out: dict[str, Any] = {}
    for part in _SPLIT.split(text or ""):
        part = part.strip()
        if not part:
            continue
        name, sep, raw = part.replace("：", "=").replace(":", "=").partition("=")
        name, raw = name.strip().strip('"'), raw.strip()
        if not sep or not name or not raw:
            problems.append(_bad(item, "inputs", f"无法识别“{part}”，请写成 名称=数值，如 bonus_base=2000",
                                 f"cannot read “{part}”; write name=value, e.g. bonus_base=2000"))
            continue
        number = _decimal(raw)
        if raw.upper() == NA:
            out[name] = NA
        elif number is not None:
            out[name] = _plain(number)
        else:
            out[name] = raw.strip('"“”\'')
    return out


def _expected(text: str, item: str, problems: list[Problem]) -> Any:
    """A test case's expected amount: any amount (a formula may give less than 0) or N/A."""
    if text.strip().upper() == NA:
        return NA
    number = _decimal(_MONEY.sub("", text))
    if number is None:
        problems.append(_bad(item, "expected", f"期望金额应为金额或 N/A，而不是“{text}”",
                             f"the expected amount must be an amount or N/A, not “{text}”"))
        return text
    return _plain(number)


# ---------------------------------------------------------------------------------------------
# the form


def _rows(form, columns: tuple[str, ...], keys: tuple[str, ...]) -> list[dict]:
    lists = [form.getlist(c) for c in columns]
    return [dict(zip(keys, (v.strip() for v in values), strict=True))
            for values in zip(*lists, strict=False)]


def read_policy_form(form) -> tuple[dict, dict | None, list[Problem]]:
    """The editor's form → (the form as typed, to show again; policy.toml's document or None when the
    form is empty; the problems of what could not be read, as check() would name their rows)."""
    problems: list[Problem] = []
    limits = [r for r in _rows(form, LIMIT_COLUMNS, ("grade", "min", "max", "scope"))
              if r["grade"] or r["min"] or r["max"]]
    pools = [r for r in _rows(form, POOL_COLUMNS, ("station", "amount")) if r["station"] or r["amount"]]
    tests = [r for r in _rows(form, TEST_COLUMNS, ("name", "inputs", "expected", "capped"))
             if any(r.values())]
    shown = {"min_headcount": form.get("min_headcount", "").strip(), "limits": limits,
             "amount": form.get("incentive_amount", "").strip(), "cap": form.get("incentive_cap", "").strip(),
             "pools": pools, "tests": tests}
    document: dict[str, Any] = {}
    if shown["min_headcount"] or limits:
        distribution: dict[str, Any] = {}
        if shown["min_headcount"]:
            text = shown["min_headcount"]
            if text.isdigit():
                distribution["min_headcount"] = int(text)
            else:
                problems.append(_bad("distribution", "min_headcount",
                                     f"最少人数应为不小于 0 的整数，而不是“{text}”",
                                     "the minimum headcount must be a whole number of at least 0, "
                                     f"not “{text}”"))
                distribution["min_headcount"] = text
        tables = []
        for n, row in enumerate(limits, start=1):
            item = _item_of_limit(row["grade"], n)
            table: dict[str, Any] = {"grade": row["grade"]}
            for key in ("max", "min"):
                if row[key]:
                    table[key] = _share(row[key], item, key, problems)
            table["scope"] = row["scope"] or BOTH
            tables.append(table)
        distribution["limit"] = tables
        document["distribution"] = distribution
    if shown["amount"] or shown["cap"] or pools or tests:
        incentive: dict[str, Any] = {"amount": shown["amount"]}
        if shown["cap"]:
            incentive["cap"] = _money(shown["cap"], "incentive", "cap", problems)
        incentive["pool"] = []
        for n, row in enumerate(pools, start=1):
            pool: dict[str, Any] = {"station": row["station"]}
            if row["amount"]:
                pool["amount"] = _money(row["amount"], f"incentive pool {n}", "amount", problems)
            incentive["pool"].append(pool)
        incentive["test"] = []
        for n, row in enumerate(tests, start=1):
            item = f"incentive test {n}"
            table = {"name": row["name"], "inputs": _inputs(row["inputs"], item, problems)}
            if row["expected"]:
                table["expected"] = _expected(row["expected"], item, problems)
            if row["capped"]:
                table["capped"] = _money(row["capped"], item, "capped", problems)
            incentive["test"].append(table)
        document["incentive"] = incentive
    return shown, document or None, problems


def policy_form(ruleset: RuleSet) -> dict:
    """A stored policy.toml as the editor shows it (shares as percentages); empty without the file."""
    try:
        doc = tomllib.loads(ruleset.extras.get(POLICY_FILE) or "")
    except tomllib.TOMLDecodeError:
        doc = {}
    distribution = doc.get("distribution") if isinstance(doc.get("distribution"), Mapping) else {}
    incentive = doc.get("incentive") if isinstance(doc.get("incentive"), Mapping) else {}

    def tables(parent: Mapping, key: str) -> list[Mapping]:
        value = parent.get(key)
        return [t for t in value if isinstance(t, Mapping)] if isinstance(value, list) else []

    def shown_inputs(inputs: Any) -> str:
        if not isinstance(inputs, Mapping):
            return ""
        return ", ".join(f"{k}={money_input_text(v) if norm_number(v) is not None else v}"
                         for k, v in inputs.items())

    def expected(value: Any) -> str:
        return NA if value == NA else money_input_text(value)

    return {
        "min_headcount": str(distribution.get("min_headcount", "")),
        "limits": [{"grade": str(t.get("grade", "")), "min": percent_text(t.get("min")),
                    "max": percent_text(t.get("max")), "scope": str(t.get("scope", BOTH))}
                   for t in tables(distribution, "limit")],
        "amount": expr_text(incentive.get("amount", "")) if incentive.get("amount") is not None else "",
        "cap": money_input_text(incentive.get("cap")),
        "pools": [{"station": str(t.get("station", "")), "amount": money_input_text(t.get("amount"))}
                  for t in tables(incentive, "pool")],
        "tests": [{"name": str(t.get("name", "")), "inputs": shown_inputs(t.get("inputs")),
                   "expected": expected(t.get("expected")), "capped": money_input_text(t.get("capped"))}
                  for t in tables(incentive, "test")],
    }


def policy_errors(problems: list[Problem], shown: dict, locale: str) -> dict:
    """Problems by where the form shows them: a field, or a row of the limits, pools or test cases."""
    out: dict[str, Any] = {"general": [], "min_headcount": [], "incentive_amount": [], "cap": [],
                           "limits": {}, "pools": {}, "tests": {}}
    for problem in problems:
        shown_problem, item, field = problem.to_dict(locale), problem.item, problem.field
        if item == "distribution" and field == "min_headcount":
            out["min_headcount"].append(shown_problem)
        elif item.startswith("distribution limit "):
            which = item.removeprefix("distribution limit ")
            rows = ([int(which[1:]) - 1] if which.startswith("#") and which[1:].isdigit()
                    else [i for i, row in enumerate(shown["limits"]) if row["grade"] == which])
            if not rows:
                out["general"].append(shown_problem)
            for i in rows:
                out["limits"].setdefault(i, []).append(shown_problem)
        elif item == "incentive" and field in ("amount", "cap"):
            out["incentive_amount" if field == "amount" else "cap"].append(shown_problem)
        elif re.fullmatch(r"incentive (pool|test) \d+", item):
            kind, n = item.split()[1:]
            out["pools" if kind == "pool" else "tests"].setdefault(int(n) - 1, []).append(shown_problem)
        else:
            out["general"].append(shown_problem)
    return out


# ---------------------------------------------------------------------------------------------
# the canonical text


def _scalar(value: Any) -> str:
    return tomli_w.dumps({"x": value}).split(" = ", 1)[1].rstrip("\n")


def _key(key: str) -> str:
    return tomli_w.dumps({key: 0}).rsplit(" = ", 1)[0]


def _table(header: str, table: Mapping) -> str:
    lines = [header]
    for key, value in table.items():
        if isinstance(value, Mapping):
            inner = ", ".join(f"{_key(k)} = {_scalar(v)}" for k, v in value.items())
            lines.append(f"{_key(key)} = {{ {inner} }}" if inner else f"{_key(key)} = {{}}")
        else:
            lines.append(f"{_key(key)} = {_scalar(value)}")
    return "\n".join(lines) + "\n"


def policy_text(document: Mapping | None) -> str | None:
    """policy.toml's text of a document shaped like the file (None for None): a header line, then
    ``[distribution]``, its ``[[distribution.limit]]``, ``[incentive]``, its pools and test cases."""
    if not document:
        return None
    parts = [HEADER]
    for name, arrays in (("distribution", ("limit",)), ("incentive", ("pool", "test"))):
        table = document.get(name)
        if table is None:
            continue
        scalars = {k: v for k, v in table.items() if k not in arrays}
        parts.append(_table(f"[{name}]", scalars))
        for array in arrays:
            parts += [_table(f"[[{name}.{array}]]", entry) for entry in table.get(array, [])]
    return "\n".join(parts)


def _money_number(value: Decimal | None) -> int | float | None:
    return None if value is None else _plain(value)


def canonical_document(read: PolicyFile) -> dict | None:
    """The content of a parsed policy.toml as its document, in the canonical order (None: no file)."""
    document: dict[str, Any] = {}
    if read.distribution is not None:
        document["distribution"] = read.distribution.to_dict()
    incentive = read.incentive
    if incentive is not None:
        table: dict[str, Any] = {"amount": incentive.amount}
        if incentive.cap is not None:
            table["cap"] = _money_number(incentive.cap)
        table["pool"] = [{"station": code, "amount": _money_number(size)}
                         for code, size in incentive.pools.items()]
        table["test"] = []
        for case in incentive.tests:
            entry: dict[str, Any] = {"name": case.name} if case.name else {}
            entry["inputs"] = {k: NA if v is None else v for k, v in case.inputs.items()}
            if case.expected is not None:
                entry["expected"] = NA if case.expected == NA else _money_number(case.expected)
            if case.capped is not None:
                entry["capped"] = _money_number(case.capped)
            table["test"].append(entry)
        document["incentive"] = table
    return document or None


def canonical_policy_text(text: str | None) -> str | None:
    """The canonical form of a policy.toml text (None stays None; a file with problems as it is)."""
    read = read_policy_file(text)
    if text is None or read.problems:
        return text
    return policy_text(canonical_document(read))


# ---------------------------------------------------------------------------------------------
# JSON (the API): the file's shape, money as strings


def _money_keys(document: Mapping, convert) -> dict:
    """``document`` with the incentive's amounts (cap, pools, expected and capped) passed through
    ``convert``; everything else as it is."""
    out = dict(document)
    incentive = out.get("incentive")
    if isinstance(incentive, Mapping):
        incentive = dict(incentive)
        if "cap" in incentive:
            incentive["cap"] = convert(incentive["cap"])
        for array, keys in (("pool", ("amount",)), ("test", ("expected", "capped"))):
            if isinstance(incentive.get(array), list):
                incentive[array] = [{k: convert(v) if k in keys else v for k, v in entry.items()}
                                    if isinstance(entry, Mapping) else entry for entry in incentive[array]]
        out["incentive"] = incentive
    return out


def policy_document(ruleset: RuleSet) -> dict | None:
    """A version's policy.toml as JSON: its tables (shares 0..1), amounts as strings ("10000",
    "8000.50"); None without the file, the file's own tables when it cannot be read cleanly."""
    text = ruleset.extras.get(POLICY_FILE)
    if text is None:
        return None
    read = read_policy_file(text)
    if read.problems:
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            return None
    return _money_keys(canonical_document(read) or {},
                       lambda value: value if value == NA else money_text(Decimal(repr(value))))


def document_from_json(data: Any) -> Any:
    """A JSON document in policy.toml's shape, with amounts given as strings ("8000.50") read as the
    numbers the file holds; anything unreadable is left for the check to name."""
    if not isinstance(data, Mapping):
        return data

    def number(value: Any) -> Any:
        if isinstance(value, str) and value != NA:
            parsed = _decimal(value.strip())
            return value if parsed is None else _plain(parsed)
        return value

    return _money_keys(data, number)


# ---------------------------------------------------------------------------------------------
# saving


def _sanitised(value: Any) -> Any:
    """A JSON document for tomli_w: nulls left out (an absent key), nothing but TOML's types."""
    if isinstance(value, Mapping):
        return {str(k): _sanitised(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_sanitised(v) for v in value if v is not None]
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _shaped(document: Mapping) -> bool:
    """Whether ``policy_text`` can lay the document out: its two tables, their arrays of tables, and
    values that are scalars (or, for a test case's inputs, a table of scalars)."""
    arrays = {"distribution": ("limit",), "incentive": ("pool", "test")}
    if not set(document) <= set(arrays):
        return False
    for name, table in document.items():
        if not isinstance(table, Mapping):
            return False
        for key, value in table.items():
            entries = value if key in arrays[name] else [{key: value}]
            if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
                return False
            for entry in entries:
                for inner in entry.values():
                    if isinstance(inner, list) or (isinstance(inner, Mapping) and any(
                            isinstance(v, Mapping | list) for v in inner.values())):
                        return False
    return True


def _text_of(document: Mapping) -> str:
    """The text to check: laid out as policy.toml is when it has the file's shape, otherwise as
    tomli_w writes it (the check then names what is out of place)."""
    try:
        return policy_text(document) if _shaped(document) else tomli_w.dumps(document)
    except (TypeError, ValueError, OverflowError):
        return "= not a document"  # reported as a TOML error of the file


def save_policy(session: Session, version_id: int, document: Mapping | None,
                problems: list[Problem] | tuple = ()) -> list[Problem]:
    """Replace a draft's policy.toml with ``document`` (shaped like the file; None removes it), checked
    with the whole draft. RuleRefused with every error of the file (``problems``: those found reading
    the form, first); returns the warnings. One transaction."""
    try:
        version = draft_or_raise(session, version_id)
        text = _text_of(_sanitised(document)) if document else None
        doc = version_document(version)
        extras = dict(doc["extras"])
        extras.pop(POLICY_FILE, None)
        if text is not None:
            extras[POLICY_FILE] = text
        doc["extras"] = extras
        ruleset, shape = RuleSet.from_document(doc)
        found = [p for p in shape + check_ruleset(ruleset, session) if p.file == POLICY_FILE]
        typed = {(p.item, p.field) for p in problems}
        found = list(problems) + [p for p in found if (p.item, p.field) not in typed]
        if has_errors(found):
            raise RuleRefused([p for p in found if p.is_error])
        if text is not None:
            extras[POLICY_FILE] = canonical_policy_text(text)
        version.extras = dumps(dict(sorted(extras.items())))
        session.commit()
        return [p for p in found if not p.is_error]
    except Exception:
        session.rollback()
        raise
