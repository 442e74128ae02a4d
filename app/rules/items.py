"""The items of a rule set (test cases, indicators, lines, templates, grade bands, outcome rules, SWOT items).

Each item is a frozen dataclass whose fields are the TOML keys. ``from_dict`` validates the shape of
one TOML table and records a :class:`Problem` for anything wrong instead of raising; ``to_dict`` gives
the canonical table (fixed key order, defaults left out), so that dumping what was parsed is a fixed point.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .model import (
    ACTIONS,
    CATEGORIES,
    DIRECTIONS,
    KINDS,
    NA,
    SEGMENTS,
    SWOT_KINDS,
    Expr,
    Problem,
    norm_number,
)
from .reader import Reader, compact


@dataclass(frozen=True)
class TestCase:
    """Inputs (variables, other indicators; a manual indicator's own code) → expected value and score."""

    __test__ = False  # not a pytest test class

    inputs: Mapping[str, float | None] = field(default_factory=dict)
    tags: Mapping[str, int] = field(default_factory=dict)
    value: float | str | None = None  # "N/A" expects N/A; None means "not checked"
    score: float | str | None = None
    note: str = ""

    @classmethod
    def from_dict(cls, table: Any, file: str, item: str, problems: list[Problem]) -> TestCase:
        r = Reader(table, file, item, problems)
        r.unknown_keys({"inputs", "tags", "value", "score", "note"})
        inputs: dict[str, float | None] = {}
        raw_inputs = r.table.get("inputs", {})
        if not isinstance(raw_inputs, Mapping):
            r.problem("inputs", "BAD_VALUE", "“inputs”应为表，如 { first_fix_rate = 0.9 }",
                      "“inputs” must be a table, e.g. { first_fix_rate = 0.9 }")
            raw_inputs = {}
        for name, value in raw_inputs.items():
            number = norm_number(value)
            if value == NA:
                inputs[str(name)] = None
            elif number is None:
                r.problem("inputs", "BAD_VALUE", f"输入“{name}”应为数字或 \"N/A\"",
                          f"input “{name}” must be a number or \"N/A\"")
            else:
                inputs[str(name)] = number
        tags: dict[str, int] = {}
        raw_tags = r.table.get("tags", {})
        if not isinstance(raw_tags, Mapping):
            r.problem("tags", "BAD_VALUE", "“tags”应为表，如 { \"新技术\" = 3 }",
                      "“tags” must be a table, e.g. { \"新技术\" = 3 }")
            raw_tags = {}
        for word, count in raw_tags.items():
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                r.problem("tags", "BAD_VALUE", f"标签“{word}”的次数应为非负整数",
                          f"the count of tag “{word}” must be a whole number ≥ 0")
            else:
                tags[str(word)] = count
        expected = {}
        for key in ("value", "score"):
            value = r.table.get(key)
            if value is None or value == NA:
                expected[key] = value
            elif norm_number(value) is None:
                r.problem(key, "BAD_VALUE", f"期望的“{key}”应为数字或 \"N/A\"",
                          f"the expected “{key}” must be a number or \"N/A\"")
                expected[key] = None
            else:
                expected[key] = norm_number(value)
        return cls(inputs, tags, expected["value"], expected["score"], r.text("note"))

    def to_dict(self) -> dict:
        return compact([
            ("inputs", {k: NA if v is None else v for k, v in self.inputs.items()}),
            ("tags", dict(self.tags)),
            ("value", self.value),
            ("score", self.score), ("note", self.note),
        ], {"inputs"})


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str
    category: str
    score: Expr
    name_en: str = ""
    kind: str = "formula"
    value: Expr = ""
    unit: str = ""
    target: Expr = ""
    direction: str = "higher"
    description: str = ""
    tests: tuple[TestCase, ...] = ()

    KEYS = ("code", "name", "name_en", "category", "kind", "value", "unit", "target", "score",
            "direction", "description", "test")

    @property
    def manual(self) -> bool:
        return self.kind == "manual"

    def label(self, locale: str | None = "zh_CN") -> str:
        return self.name_en if (locale or "").startswith("en") and self.name_en else self.name

    @classmethod
    def from_dict(cls, table: Any, file: str, index: int, problems: list[Problem]) -> Indicator:
        code = table.get("code") if isinstance(table, Mapping) else None
        item = f"indicator {code}" if isinstance(code, str) and code else f"indicator #{index + 1}"
        r = Reader(table, file, item, problems)
        r.unknown_keys(set(cls.KEYS))
        tests = tuple(
            TestCase.from_dict(t, file, f"{item} test {i + 1}", problems)
            for i, t in enumerate(r.tables("test"))
        )
        return cls(
            code=r.text("code", required=True, max_len=64),
            name=r.text("name", required=True, max_len=100),
            name_en=r.text("name_en", max_len=100),
            category=r.text("category", required=True, choices=CATEGORIES),
            kind=r.text("kind", choices=KINDS, default="formula") or "formula",
            value=r.expr("value"),
            unit=r.text("unit", max_len=32),
            target=r.expr("target"),
            score=r.expr("score", required=True),
            direction=r.text("direction", choices=DIRECTIONS, default="higher") or "higher",
            description=r.text("description"),
            tests=tests,
        )

    def to_dict(self) -> dict:
        return compact([
            ("code", self.code), ("name", self.name), ("name_en", self.name_en),
            ("category", self.category), ("kind", self.kind), ("value", self.value),
            ("unit", self.unit), ("target", self.target), ("score", self.score),
            ("direction", self.direction), ("description", self.description),
            ("test", [t.to_dict() for t in self.tests]),
        ], {"code", "name", "category", "kind", "score", "direction"})


@dataclass(frozen=True)
class Line:
    """An indicator in a template or SWOT item, with its weight (a number or a formula)."""

    indicator: str
    weight: Expr

    @classmethod
    def from_dict(cls, table: Any, file: str, item: str, problems: list[Problem]) -> Line:
        r = Reader(table, file, item, problems)
        r.unknown_keys({"indicator", "weight"})
        return cls(r.text("indicator", required=True, max_len=64), r.expr("weight", required=True))

    def to_dict(self) -> dict:
        return {"indicator": self.indicator, "weight": self.weight}


def _lines(r: Reader, item: str) -> tuple[Line, ...]:
    return tuple(
        Line.from_dict(t, r.file, f"{item} line {i + 1}", r.problems)
        for i, t in enumerate(r.tables("line"))
    )


@dataclass(frozen=True)
class Template:
    code: str
    name: str
    name_en: str = ""
    positions: tuple[str, ...] = ()  # empty = every position
    stations: tuple[str, ...] = ()  # station codes; empty = every station
    segments: tuple[str, ...] = ()  # customer segments; empty = every segment
    description: str = ""
    lines: tuple[Line, ...] = ()

    KEYS = ("code", "name", "name_en", "positions", "stations", "segments", "description", "line")

    def label(self, locale: str | None = "zh_CN") -> str:
        return self.name_en if (locale or "").startswith("en") and self.name_en else self.name

    def applies(self, position: str, station_code: str, segment: str) -> bool:
        return (
            (not self.positions or position in self.positions)
            and (not self.stations or station_code in self.stations)
            and (not self.segments or segment in self.segments)
        )

    @property
    def specificity(self) -> int:
        """A template naming stations beats one naming segments, which beats a general one."""
        return 2 * bool(self.stations) + bool(self.segments)

    @classmethod
    def from_dict(cls, table: Any, file: str, index: int, problems: list[Problem]) -> Template:
        code = table.get("code") if isinstance(table, Mapping) else None
        item = f"template {code}" if isinstance(code, str) and code else f"template #{index + 1}"
        r = Reader(table, file, item, problems)
        r.unknown_keys(set(cls.KEYS))
        return cls(
            code=r.text("code", required=True, max_len=64),
            name=r.text("name", required=True, max_len=100),
            name_en=r.text("name_en", max_len=100),
            positions=r.texts("positions"),
            stations=r.texts("stations"),
            segments=r.texts("segments", choices=SEGMENTS),
            description=r.text("description"),
            lines=_lines(r, item),
        )

    def to_dict(self) -> dict:
        return compact([
            ("code", self.code), ("name", self.name), ("name_en", self.name_en),
            ("positions", list(self.positions)), ("stations", list(self.stations)),
            ("segments", list(self.segments)), ("description", self.description),
            ("line", [line.to_dict() for line in self.lines]),
        ], {"code", "name", "line"})


@dataclass(frozen=True)
class GradeBand:
    grade: str
    label: str
    min: int | float
    label_en: str = ""

    KEYS = ("grade", "label", "label_en", "min")

    @classmethod
    def from_dict(cls, table: Any, file: str, index: int, problems: list[Problem]) -> GradeBand:
        grade = table.get("grade") if isinstance(table, Mapping) else None
        item = f"grade {grade}" if isinstance(grade, str) and grade else f"grade #{index + 1}"
        r = Reader(table, file, item, problems)
        r.unknown_keys(set(cls.KEYS))
        return cls(
            grade=r.text("grade", required=True, max_len=16),
            label=r.text("label", required=True, max_len=64),
            label_en=r.text("label_en", max_len=64),
            min=r.number("min", required=True),
        )

    def text(self, locale: str | None = "zh_CN") -> str:
        return self.label_en if (locale or "").startswith("en") and self.label_en else self.label

    def to_dict(self) -> dict:
        return compact([
            ("grade", self.grade), ("label", self.label), ("label_en", self.label_en), ("min", self.min),
        ], {"grade", "label", "min"})


@dataclass(frozen=True)
class OutcomeRule:
    code: str
    action: str
    when: Expr
    label: str
    coefficient: Expr = ""  # bonus only: the bonus coefficient as a formula
    label_en: str = ""

    KEYS = ("code", "action", "when", "coefficient", "label", "label_en")

    @classmethod
    def from_dict(cls, table: Any, file: str, index: int, problems: list[Problem]) -> OutcomeRule:
        code = table.get("code") if isinstance(table, Mapping) else None
        item = f"outcome {code}" if isinstance(code, str) and code else f"outcome #{index + 1}"
        r = Reader(table, file, item, problems)
        r.unknown_keys(set(cls.KEYS))
        return cls(
            code=r.text("code", required=True, max_len=64),
            action=r.text("action", required=True, choices=ACTIONS),
            when=r.expr("when", required=True),
            coefficient=r.expr("coefficient"),
            label=r.text("label", required=True, max_len=100),
            label_en=r.text("label_en", max_len=100),
        )

    def text(self, locale: str | None = "zh_CN") -> str:
        return self.label_en if (locale or "").startswith("en") and self.label_en else self.label

    def to_dict(self) -> dict:
        return compact([
            ("code", self.code), ("action", self.action), ("when", self.when),
            ("coefficient", self.coefficient), ("label", self.label), ("label_en", self.label_en),
        ], {"code", "action", "when", "label"})


@dataclass(frozen=True)
class SwotItem:
    station: str
    year: int
    kind: str
    title: str
    description: str = ""
    lines: tuple[Line, ...] = ()
    positions: tuple[str, ...] = ()  # whose appraisals the lines join; empty = everyone at the station

    KEYS = ("station", "year", "kind", "title", "positions", "description", "line")

    def applies_to(self, position: str) -> bool:
        return not self.positions or position in self.positions

    @property
    def item_label(self) -> str:
        return f"swot {self.station} {self.year} {self.kind} {self.title}"

    @classmethod
    def from_dict(cls, table: Any, file: str, index: int, problems: list[Problem]) -> SwotItem:
        item = f"swot #{index + 1}"
        if isinstance(table, Mapping) and all(isinstance(table.get(k), str) for k in ("station", "kind")):
            item = f"swot {table['station']} {table.get('year', '')} {table['kind']} #{index + 1}"
        r = Reader(table, file, item, problems)
        r.unknown_keys(set(cls.KEYS))
        return cls(
            station=r.text("station", required=True, max_len=32),
            year=r.integer("year", required=True),
            kind=r.text("kind", required=True, choices=SWOT_KINDS),
            title=r.text("title", required=True, max_len=200),
            description=r.text("description"),
            lines=_lines(r, item),
            positions=r.texts("positions"),
        )

    def to_dict(self) -> dict:
        return compact([
            ("station", self.station), ("year", self.year), ("kind", self.kind), ("title", self.title),
            ("positions", list(self.positions)), ("description", self.description),
            ("line", [line.to_dict() for line in self.lines]),
        ], {"station", "year", "kind", "title"})
