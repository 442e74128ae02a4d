"""The rules editor's form fields → the rule tables (pure: a form is anything with ``get`` and ``getlist``).

The screens post plain text: ``"first_fix_rate=0.9, orders=20"`` for a test case's inputs, a list of
positions separated by commas, one row of inputs per line or grade band. These functions read them
into the TOML tables of ``app.rules`` and say what they could not read, as problems of the field.
"""

from __future__ import annotations

import re
from typing import Any

from .model import NA, Problem, norm_number

_SPLIT = re.compile(r"[,;，；\n]+")

INDICATOR_FIELDS = ("code", "name", "name_en", "category", "kind", "value", "unit", "target", "score",
                    "direction", "description")
TEMPLATE_FIELDS = ("code", "name", "name_en", "positions", "description")
GRADE_COLUMNS = ("grade", "grade_label", "grade_label_en", "grade_min")
OUTCOME_COLUMNS = ("code", "action", "when", "coefficient", "label", "label_en")


def split_list(text: str) -> list[str]:
    """``"维修技师, 站长；客服"`` → ["维修技师", "站长", "客服"] (commas, semicolons or lines)."""
    return [x.strip() for x in _SPLIT.split(text or "") if x.strip()]


def pairs(text: str, *, integers: bool = False) -> tuple[dict, list[str]]:
    """``"first_fix_rate=0.9, orders=20"`` → ({"first_fix_rate": 0.9, "orders": 20}, errors)."""
    out, bad = {}, []
    for part in _SPLIT.split(text or ""):
        part = part.strip()
        if not part:
            continue
        name, sep, raw = part.replace("：", "=").replace(":", "=").partition("=")
        name, raw = name.strip().strip('"'), raw.strip()
        if not sep or not name:
            bad.append(part)
            continue
        if raw.upper() == NA:
            if integers:
                bad.append(part)
            else:
                out[name] = NA
            continue
        try:
            number = norm_number(float(raw))
        except ValueError:
            number = None
        if number is None or (integers and (not isinstance(number, int) or number < 0)):
            bad.append(part)
            continue
        out[name] = number
    return out, bad


def show_pairs(mapping: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in mapping.items())


def expected(raw: str) -> tuple[Any, bool]:
    """An expected value as typed: (number, "N/A" or None for none; True when it cannot be read)."""
    raw = (raw or "").strip()
    if not raw:
        return None, False
    if raw.upper() == NA:
        return NA, False
    try:
        number = norm_number(float(raw))
    except ValueError:
        return None, True
    return number, number is None


def parse_tests(form) -> tuple[list[dict], list[Problem], list[dict]]:
    """Test-case rows of the indicator form → (TOML tables, problems, rows to show again)."""
    tables, problems, rows = [], [], []
    columns = [form.getlist(k) for k in ("test_inputs", "test_tags", "test_value", "test_score", "test_note")]
    for inputs, tags, value, score, note in zip(*columns, strict=False):
        rows.append({"inputs": inputs, "tags": tags, "value": value, "score": score, "note": note})
        if not any(x.strip() for x in (inputs, tags, value, score, note)):
            rows.pop()
            continue
        table: dict = {}
        inputs_map, bad = pairs(inputs)
        tags_map, bad_tags = pairs(tags, integers=True)
        expected_value, bad_value = expected(value)
        expected_score, bad_score = expected(score)
        for what in bad + bad_tags:
            problems.append(Problem("", "", f"test {len(tables) + 1}", "BAD_VALUE",
                                    f"无法识别“{what}”，请写成 名称=数值",
                                    f"cannot read “{what}”; write name=number"))
        if bad_value or bad_score:
            problems.append(Problem("", "", f"test {len(tables) + 1}", "BAD_VALUE", "期望值应为数字或 N/A",
                                    "an expected value must be a number or N/A"))
        table["inputs"] = inputs_map
        if tags_map:
            table["tags"] = tags_map
        for key, val in (("value", expected_value), ("score", expected_score)):
            if val is not None:
                table[key] = val
        if note.strip():
            table["note"] = note.strip()
        tables.append(table)
    return tables, problems, rows


def shown_tests(tables: list[dict]) -> list[dict]:
    """Stored test cases → the rows of the indicator form."""
    return [{"inputs": show_pairs(t.get("inputs", {})), "tags": show_pairs(t.get("tags", {})),
             "value": "" if t.get("value") is None else str(t["value"]),
             "score": "" if t.get("score") is None else str(t["score"]), "note": t.get("note", "")}
            for t in tables]



def field_errors(problems: list[Problem], locale: str) -> dict[str, list[dict]]:
    """Problems by the form field they belong to (a line's weight belongs to its line)."""
    out: dict[str, list[dict]] = {}
    for pr in problems:
        key = pr.field.split(" weight")[0] if pr.field.startswith("line") else pr.field
        out.setdefault(key, []).append(pr.to_dict(locale))
    return out


def indicator_fields(form) -> dict[str, str]:
    """The indicator form's text fields, stripped."""
    return {k: form.get(k, "").strip() for k in INDICATOR_FIELDS}


def _whole(text: str) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return 0


def _lines(form) -> list[tuple[str, str]]:
    return [(i.strip(), w.strip())
            for i, w in zip(form.getlist("line_indicator"), form.getlist("line_weight"), strict=False)
            if i.strip() or w.strip()]


def template_fields(form) -> tuple[dict, list[dict]]:
    """The template form: (fields, with the stations and segments as lists; lines {indicator, weight})."""
    fields: dict = {k: form.get(k, "").strip() for k in TEMPLATE_FIELDS}
    fields["stations"], fields["segments"] = form.getlist("stations"), form.getlist("segments")
    return fields, [{"indicator": i, "weight": w} for i, w in _lines(form)]


def swot_fields(form) -> tuple[dict, list[tuple[str, str]]]:
    """A SWOT item's form: (year, kind, title, description, positions as typed; lines (indicator, weight))."""
    fields = {"year": _whole(form.get("year", "")), "kind": form.get("kind", "").strip(),
              "title": form.get("title", "").strip(), "description": form.get("description", "").strip(),
              "positions": form.get("positions", "")}
    return fields, _lines(form)


def grade_tables(form) -> tuple[list[dict], list[dict]]:
    """The grades form: (grade bands, outcome rules) as the tables of grades.toml, values as typed."""
    grades = [{"grade": g.strip(), "label": lab.strip(), "label_en": le.strip(), "min": m.strip()}
              for g, lab, le, m in zip(*[form.getlist(k) for k in GRADE_COLUMNS], strict=False)
              if g.strip() or lab.strip()]
    columns = [form.getlist(f"outcome_{k}") for k in OUTCOME_COLUMNS]
    outcomes = [{"code": c.strip(), "action": a.strip(), "when": w.strip(), "coefficient": k.strip(),
                 "label": lab.strip(), "label_en": le.strip()}
                for c, a, w, k, lab, le in zip(*columns, strict=False) if c.strip() or w.strip()]
    return grades, outcomes
