"""The names a formula may use: variables (code and Chinese alias) and indicator codes.

A formula sees exactly the names of the catalogue its caller passes: no record is merged into the namespace.
``builtin_catalogue()`` holds the built-in metrics and their station-wide twins.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from .limits import MAX_NAME

NUMBER, TEXT = "number", "text"


@dataclass(frozen=True, init=False)
class Variable:
    """A name a formula may read: ``code`` (canonical), ``zh`` (Chinese alias, also accepted in formulas),
    ``en`` (English name), descriptions, a category for the palette, and ``kind`` ("number", or "text" for a
    value that may only be compared with == / !=, such as a grade)."""

    code: str
    zh: str
    en: str
    description_zh: str
    description_en: str
    category: str
    kind: str

    def __init__(self, code: str, zh: str | None = "", en: str | None = "", description_zh: str | None = "",
                 description_en: str | None = "", category: str | None = "", kind: str = NUMBER, *,
                 alias: str | None = None, name_en: str | None = None, description: str | None = None):
        # alias / name_en / description are accepted as synonyms of zh / en / description_zh.
        values = dict(code=code, zh=zh or alias or "", en=en or name_en or "",
                      description_zh=description_zh or description or "", description_en=description_en or "",
                      category=category or "", kind=kind if kind in (NUMBER, TEXT) else NUMBER)
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @property
    def alias(self) -> str:
        return self.zh

    @property
    def name_en(self) -> str:
        return self.en

    @property
    def description(self) -> str:
        return self.description_zh

    def to_dict(self, locale: str | None = "zh_CN") -> dict:
        """The palette entry of the API: code, both names, description in ``locale``, category, kind."""
        english = (locale or "").lower().startswith("en")
        return {"code": self.code, "zh": self.zh, "en": self.en,
                "name": self.en if english and self.en else (self.zh or self.code),
                "description": (self.description_en or self.description_zh) if english
                else (self.description_zh or self.description_en),
                "category": self.category, "kind": self.kind}


class Catalogue:
    """Resolves a name (code, Chinese alias or indicator code) to its canonical code. Immutable: the
    ``with_names`` and ``extend`` methods return a new catalogue. An exact name wins; otherwise an ASCII name
    also matches regardless of case when that is unambiguous (``First_Fix_Rate``)."""

    def __init__(self, variables: Iterable[Variable] = (), indicator_codes: Iterable[str] = ()):
        self._variables: dict[str, Variable] = {}
        for variable in variables:
            self._variables.setdefault(variable.code, variable)
        self._indicator_codes = tuple(dict.fromkeys(c for c in indicator_codes if c not in self._variables))
        lookup: dict[str, str] = {}
        for code in (*self._variables, *self._indicator_codes):
            lookup.setdefault(code, code)
        for variable in self._variables.values():
            if variable.zh:
                lookup.setdefault(variable.zh, variable.code)
        self._lookup = lookup
        folded: dict[str, str | None] = {}
        for name, code in lookup.items():
            key = name.casefold()
            folded[key] = code if folded.get(key, code) == code else None  # None: ambiguous
        self._folded = {k: v for k, v in folded.items() if v is not None}

    # -- lookups -------------------------------------------------------------------------------------
    def resolve(self, name: str) -> str | None:
        """The canonical code of ``name``, or None."""
        code = self._lookup.get(name)
        if code is None and name.isascii():
            code = self._folded.get(name.casefold())
        return code

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.resolve(name) is not None

    def __iter__(self) -> Iterator[Variable]:
        return iter(self._variables.values())

    def __len__(self) -> int:
        return len(self._variables) + len(self._indicator_codes)

    def variable(self, code: str) -> Variable | None:
        """The Variable of a canonical code (None for a bare indicator code)."""
        return self._variables.get(code)

    def kind(self, code: str) -> str:
        variable = self._variables.get(code)
        return variable.kind if variable is not None else NUMBER

    @property
    def codes(self) -> tuple[str, ...]:
        """Every canonical code: variables, then indicator codes."""
        return (*self._variables, *self._indicator_codes)

    @property
    def indicator_codes(self) -> tuple[str, ...]:
        return self._indicator_codes

    def suggestions(self, name: str, limit: int = 3) -> list[str]:
        """Up to ``limit`` codes or aliases close to ``name`` (edit distance), best first."""
        return suggest(name, self._lookup, limit)

    # -- new catalogues ------------------------------------------------------------------------------
    def extend(self, variables: Iterable[Variable]) -> Catalogue:
        """This catalogue plus ``variables`` (an existing code keeps its first definition)."""
        return Catalogue([*self._variables.values(), *variables], self._indicator_codes)

    def with_names(self, names: Iterable[str] = (), aliases: Mapping[str, str] | None = None,
                   kinds: Mapping[str, str] | None = None) -> Catalogue:
        """This catalogue plus plain names (e.g. indicator codes or the keys of an API request's
        ``variables``); ``aliases`` maps a name to its Chinese alias, ``kinds`` a name to "text"."""
        aliases, kinds = aliases or {}, kinds or {}
        extra = [Variable(name, aliases.get(name, ""), kind=kinds.get(name, NUMBER))
                 for name in names if name not in self]  # a name that resolves already keeps its meaning
        return self.extend(extra)

    def with_indicators(self, codes: Iterable[str]) -> Catalogue:
        """This catalogue plus indicator codes."""
        return Catalogue(self._variables.values(), (*self._indicator_codes, *codes))

    def canonical_values(self, values: Mapping[str, object]) -> dict[str, object]:
        """``values`` keyed by canonical code (a caller may key them by alias); unknown names are kept."""
        out: dict[str, object] = {}
        for name, value in values.items():
            out[self.resolve(name) or name] = value
        return out

    def to_list(self, locale: str | None = "zh_CN") -> list[dict]:
        """Palette entries of every variable and indicator code."""
        entries = [v.to_dict(locale) for v in self._variables.values()]
        entries += [Variable(code, category="indicator").to_dict(locale) for code in self._indicator_codes]
        return entries


def edit_distance(a: str, b: str, cutoff: int) -> int:
    """Levenshtein distance of a and b, or cutoff + 1 once it must exceed cutoff."""
    if abs(len(a) - len(b)) > cutoff:
        return cutoff + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > cutoff:
            return cutoff + 1
        previous = current
    return previous[-1]


def suggest(name: str, candidates: Iterable[str], limit: int = 3) -> list[str]:
    """Candidates within an edit distance of about a third of ``name`` (at least 2), or containing it."""
    if not name or len(name) > MAX_NAME:
        return []
    folded = name.casefold()
    cutoff = max(2, len(name) // 3)
    scored = []
    for candidate in candidates:
        other = candidate.casefold()
        distance = edit_distance(folded, other, cutoff)
        if distance > cutoff and len(folded) >= 2 and (folded in other or other in folded):
            distance = cutoff  # a fragment of a long name ("修复率") still points at it
        if distance <= cutoff:
            scored.append((distance, len(candidate), candidate))
    scored.sort()
    return [candidate for *_, candidate in scored[:limit]]


# -- the built-in metrics ------------------------------------------------------------------------------
QUALITY, EFFICIENCY, COST, OTHER = "服务质量", "工作效率", "成本控制", "其他"

_BUILTINS = (
    # code, 中文别名, English name, 中文说明, English description, category
    ("orders", "工单数", "Orders", "本期完工的工单数", "Orders completed in the period", EFFICIENCY),
    ("satisfaction", "客户满意度", "Customer satisfaction",
     "回访中（服务态度+维修质量+响应速度）/3 的平均值，1–5",
     "Mean of (attitude+quality+speed)/3 over the surveys, 1–5",
     QUALITY),
    ("attitude", "服务态度", "Service attitude", "回访“服务态度”评分的平均值，1–5",
     "Mean survey attitude score, 1–5",
     QUALITY),
    ("repair_quality", "维修质量", "Repair quality", "回访“维修质量”评分的平均值，1–5",
     "Mean survey quality score, 1–5",
     QUALITY),
    ("speed_rating", "响应速度评分", "Speed rating", "回访“响应速度”评分的平均值，1–5",
     "Mean survey speed score, 1–5",
     QUALITY),
    ("survey_rate", "回访率", "Survey rate", "已回访工单 / 完工工单", "Surveyed orders / completed orders",
     QUALITY),
    ("first_fix_rate", "一次修复率", "First-time fix rate", "首次上门修复且之后未返修的工单 / 完工工单",
     "Orders fixed at the first visit and not reworked later / completed orders", QUALITY),
    ("rework_rate", "返修率", "Rework rate", "被其他工单返修的完工工单 / 完工工单",
     "Completed orders that another order reworks / completed orders", QUALITY),
    ("avg_repair_hours", "平均维修时长", "Average repair hours", "从到场（否则响应）到完工的平均小时数",
     "Mean hours from arrival (else response) to completion", EFFICIENCY),
    ("avg_response_hours", "平均响应时长", "Average response hours", "从报修到响应的平均小时数",
     "Mean hours from report to response", EFFICIENCY),
    ("sla_rate", "SLA达成率", "SLA compliance rate", "在承诺时限内响应的企业工单 / 有承诺的企业工单",
     "Enterprise orders responded within the promised hours / enterprise orders with a promise", EFFICIENCY),
    ("parts_cost_per_order", "单均配件成本", "Parts cost per order", "配件成本 / 完工工单（元）",
     "Parts cost / completed orders (yuan)", COST),
    ("labor_cost_ratio", "人力成本占比", "Labour cost ratio", "本期人力成本 / 服务收入",
     "Labour cost of the period / service-fee revenue", COST),
    ("parts_delay_count", "配件延误次数", "Parts delays", "因缺配件而延误的工单数",
     "Orders delayed by a parts shortage",
     EFFICIENCY),
    ("enterprise_share", "企业客户占比", "Enterprise share", "企业客户工单 / 工单数",
     "Enterprise orders / orders", OTHER),
    ("period_days", "考核天数", "Days in period", "考核期的天数", "Days in the period", OTHER),
)

BUILTIN_VARIABLES: tuple[Variable, ...] = tuple(
    Variable(code, zh, en, dzh, den, category) for code, zh, en, dzh, den, category in _BUILTINS
)


def station_variable(variable: Variable) -> Variable:
    """The station-wide twin of a metric: ``station_<code>``, alias ``站点<别名>``."""
    return Variable(f"station_{variable.code}", f"站点{variable.zh}", f"Station {variable.en.lower()}",
                    f"全站：{variable.description_zh}", f"Whole station: {variable.description_en}",
                    variable.category, variable.kind)


@functools.cache
def builtin_catalogue(station_variables: bool = True) -> Catalogue:
    """The built-in metrics, and with ``station_variables`` their ``station_<code>`` / ``站点<别名>``
    twins."""
    variables = list(BUILTIN_VARIABLES)
    if station_variables:
        variables += [station_variable(v) for v in BUILTIN_VARIABLES]
    return Catalogue(variables)
