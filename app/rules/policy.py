"""The distribution policy (强制分布) of ``policy.toml``, its breaches, and the reading of that file.

``policy.toml`` is one of the rule set's extra files (kept verbatim like ``workflow.toml``); it holds a
``[distribution]`` table (this module) and an ``[incentive]`` table (``incentive.py``), both optional::

    [distribution]
    min_headcount = 10            # station limits apply only where a station has at least this many
    [[distribution.limit]]
    grade = "A"
    max = 0.20                    # a share 0..1; `min = 0.05` for a floor
    scope = "both"                # "network", "station" or "both" (the default)

Counting (:func:`breaches`): the headcount is the number of appraisals that have a grade (one without a
grade is left out of counts and headcount). A network limit counts every station together; a station
limit counts each station with headcount ≥ ``min_headcount`` (default 1) on its own; "both" does both.

The count a limit allows is worked out exactly (the share as a decimal, never a float product):
a maximum allows ``floor(max × headcount)`` people, a minimum requires ``ceil(min × headcount)``. So
A ≤ 20 % allows 2 of 10 and 2 of 14 (2.8 → 2), D ≥ 5 % requires 1 of 10 (0.5 → 1) and 2 of 40. A
maximum is breached when the count is above what it allows (the share is above the limit), a minimum
when the count is below what it requires (the share is below the limit).

A limit or key with a shape problem is reported (see ``read_policy_file``) and left out of the policy;
the limits that refer to a grade the rule set lacks are reported by :func:`check_distribution`.
"""

from __future__ import annotations

import functools
import math
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .incentive import Incentive
from .model import POLICY_FILE, Problem, norm_number
from .reader import Reader

NETWORK, STATION, BOTH = "network", "station", "both"
SCOPES = (NETWORK, STATION, BOTH)
MAX, MIN = "max", "min"
DEFAULT_MIN_HEADCOUNT = 1


@dataclass(frozen=True)
class GradeLimit:
    """A grade's share must stay at or below ``max_share`` and/or at or above ``min_share``."""

    grade: str
    min_share: float | None = None
    max_share: float | None = None
    scope: str = BOTH

    @property
    def network(self) -> bool:
        return self.scope in (NETWORK, BOTH)

    @property
    def station(self) -> bool:
        return self.scope in (STATION, BOTH)

    def bounds(self) -> list[tuple[str, float]]:
        """(kind, share) of each bound this limit sets: the maximum first."""
        out = []
        if self.max_share is not None:
            out.append((MAX, self.max_share))
        if self.min_share is not None:
            out.append((MIN, self.min_share))
        return out

    @classmethod
    def from_dict(cls, table: Any, index: int, problems: list[Problem]) -> GradeLimit | None:
        """The limit, or None when it has a shape problem (reported in ``problems``)."""
        grade = table.get("grade") if isinstance(table, Mapping) else None
        item = f"distribution limit {grade}" if isinstance(grade, str) and grade else \
            f"distribution limit #{index + 1}"
        before = len(problems)
        r = Reader(table, POLICY_FILE, item, problems)
        r.unknown_keys({"grade", "max", "min", "scope"})
        grade = r.text("grade", required=True, max_len=16)
        scope = r.text("scope", choices=SCOPES) or BOTH
        shares = {key: _share(r, key) for key in (MAX, MIN)}
        if MAX not in r.table and MIN not in r.table:
            r.problem("max", "MISSING", "请填写上限“max”或下限“min”（如 max = 0.2 表示最多 20%）",
                      "give a maximum “max” or a minimum “min” (e.g. max = 0.2 for at most 20 %)")
        low, high = shares[MIN], shares[MAX]
        if low is not None and high is not None and low > high:
            r.problem("min", "BAD_VALUE", f"下限 {_percent(low)} 高于上限 {_percent(high)}",
                      f"the minimum {_percent(low)} is above the maximum {_percent(high)}")
        if len(problems) > before:
            return None
        return cls(grade, low, high, scope)

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"grade": self.grade}
        if self.max_share is not None:
            out["max"] = self.max_share
        if self.min_share is not None:
            out["min"] = self.min_share
        out["scope"] = self.scope
        return out


def _share(r: Reader, key: str) -> float | None:
    if key not in r.table:
        return None
    number = norm_number(r.table[key])
    if number is None or not 0 <= number <= 1:
        r.problem(key, "BAD_VALUE", f"“{key}”应为 0 到 1 之间的比例（如 0.2 表示 20%）",
                  f"“{key}” must be a share between 0 and 1 (e.g. 0.2 for 20 %)")
        return None
    return float(number)


@dataclass(frozen=True)
class DistributionPolicy:
    limits: tuple[GradeLimit, ...] = ()
    min_headcount: int = DEFAULT_MIN_HEADCOUNT

    @classmethod
    def from_dict(cls, table: Any, problems: list[Problem]) -> DistributionPolicy:
        r = Reader(table, POLICY_FILE, "distribution", problems)
        r.unknown_keys({"min_headcount", "limit"})
        min_headcount = DEFAULT_MIN_HEADCOUNT
        if "min_headcount" in r.table:
            min_headcount = r.integer("min_headcount")
            if min_headcount < 0:
                r.problem("min_headcount", "BAD_VALUE", "“min_headcount”（最少人数）不能为负数",
                          "“min_headcount” cannot be negative")
                min_headcount = DEFAULT_MIN_HEADCOUNT
        limits = [GradeLimit.from_dict(t, i, problems) for i, t in enumerate(r.tables("limit"))]
        kept = tuple(limit for limit in limits if limit is not None)
        seen = Counter((limit.grade, limit.scope) for limit in kept)
        for (grade, scope), n in sorted(seen.items()):
            if n > 1:
                problems.append(Problem(POLICY_FILE, f"distribution limit {grade}", "grade", "DUPLICATE",
                                        f"等级“{grade}”在范围“{scope}”上有 {n} 条限制；请合并为一条",
                                        f"the grade “{grade}” has {n} limits of scope “{scope}”; "
                                        "merge them into one"))
        return cls(kept, min_headcount)

    def to_dict(self) -> dict:
        return {"min_headcount": self.min_headcount, "limit": [limit.to_dict() for limit in self.limits]}


def check_distribution(policy: DistributionPolicy | None, grades: Iterable[str]) -> list[Problem]:
    """The limits that name a grade the rule set does not have."""
    if policy is None:
        return []
    known = set(grades)
    return [
        Problem(POLICY_FILE, f"distribution limit {limit.grade}", "grade", "UNKNOWN_GRADE",
                f"没有等级“{limit.grade}”（grades.toml 中的等级：{' / '.join(sorted(known)) or '无'}）",
                f"there is no grade “{limit.grade}” (the grades of grades.toml: "
                f"{' / '.join(sorted(known)) or 'none'})")
        for limit in policy.limits if limit.grade not in known
    ]


# ---------------------------------------------------------------------------------------------
# breaches


@functools.lru_cache(maxsize=4096)  # a network's stations ask it for the same few headcounts
def allowed_count(kind: str, share: float, headcount: int) -> int:
    """The most people a maximum allows (floor) or the fewest a minimum requires (ceil), worked out
    with the share as written (0.7 × 10 is 7, not 7.000000000000001)."""
    exact = Decimal(repr(float(share))) * headcount
    return math.floor(exact) if kind == MAX else math.ceil(exact)


def _percent(share: float) -> str:
    text = f"{share * 100:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


@dataclass(frozen=True)
class Breach:
    """A grade's count somewhere (``scope``: "network" or a station code) outside a limit."""

    scope: str
    grade: str
    kind: str  # "max" or "min"
    limit: float  # the share the policy sets
    count: int
    headcount: int
    share: float  # count / headcount, 4 places
    allowed: int  # the count the limit allows (max) or requires (min)

    def message(self, locale: str | None = "zh_CN") -> str:
        share, limit = _percent(self.share), _percent(self.limit)
        if (locale or "").startswith("en"):
            where = "Network" if self.scope == NETWORK else self.scope
            bound = (f"limit {limit} (at most {self.allowed})" if self.kind == MAX
                     else f"minimum {limit} (at least {self.allowed})")
            return f"{where}: grade {self.grade} {self.count}/{self.headcount} ({share}), {bound}"
        where = "全网" if self.scope == NETWORK else self.scope
        bound = (f"上限 {limit}（最多 {self.allowed} 人）" if self.kind == MAX
                 else f"下限 {limit}（至少 {self.allowed} 人）")
        return f"{where}：{self.grade} 级 {self.count}/{self.headcount} 人（{share}），{bound}"

    def to_dict(self, locale: str | None = "zh_CN") -> dict:
        return {"scope": self.scope, "grade": self.grade, "kind": self.kind, "limit": self.limit,
                "count": self.count, "headcount": self.headcount, "share": self.share,
                "allowed": self.allowed, "message": self.message(locale)}


def _breaches_of(scope: str, counts: Mapping[str, int], headcount: int,
                 limits: Iterable[GradeLimit]) -> list[Breach]:
    out = []
    if headcount <= 0:
        return out
    for limit in limits:
        count = counts.get(limit.grade, 0)
        for kind, share in limit.bounds():
            allowed = allowed_count(kind, share, headcount)
            if (kind == MAX and count > allowed) or (kind == MIN and count < allowed):
                out.append(Breach(scope, limit.grade, kind, share, count, headcount,
                                  round(count / headcount, 4), allowed))
    return out


def breaches(policy: DistributionPolicy | None,
             grades_by_station: Mapping[str, Sequence[str | None]]) -> list[Breach]:
    """Every breach of ``policy`` by these grades (station code → the grades of that station's current
    appraisals; None = no grade, left out): the network's first, then each station's in code order,
    in the order of the policy's limits."""
    if policy is None or not policy.limits:
        return []
    return breaches_of_counts(policy, {code: Counter(grades) for code, grades in grades_by_station.items()})


def breaches_of_counts(policy: DistributionPolicy | None,
                       counts_by_station: Mapping[str, Mapping[str | None, int]]) -> list[Breach]:
    """:func:`breaches` of grades already counted: station code → grade (None = no grade, left out) →
    how many of that station's current appraisals have it."""
    if policy is None or not policy.limits:
        return []
    per_station = {code: {g: n for g, n in counts.items() if g is not None and n > 0}
                   for code, counts in counts_by_station.items()}
    network: dict[str, int] = {}
    for counts in per_station.values():
        for grade, n in counts.items():
            network[grade] = network.get(grade, 0) + n
    out = _breaches_of(NETWORK, network, sum(network.values()),
                       [limit for limit in policy.limits if limit.network])
    station_limits = [limit for limit in policy.limits if limit.station]
    for code in sorted(per_station):
        headcount = sum(per_station[code].values())
        if station_limits and headcount >= max(policy.min_headcount, 1):
            out += _breaches_of(code, per_station[code], headcount, station_limits)
    return out


# ---------------------------------------------------------------------------------------------
# the file


@dataclass(frozen=True)
class PolicyFile:
    """What ``policy.toml`` holds: each table (None when absent) and every shape problem."""

    distribution: DistributionPolicy | None = None
    incentive: Incentive | None = None
    problems: tuple[Problem, ...] = ()


def read_policy_file(text: str | None) -> PolicyFile:
    """Parse the text of ``policy.toml`` (None: the rule set has none). Never raises."""
    if text is None:
        return PolicyFile()
    problems: list[Problem] = []
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problems.append(Problem(POLICY_FILE, "", "", "TOML", f"TOML 格式错误：{exc}",
                                f"TOML syntax error: {exc}"))
        return PolicyFile(problems=tuple(problems))
    for key in doc:
        if key not in ("distribution", "incentive"):
            problems.append(Problem(POLICY_FILE, "", str(key), "UNKNOWN_KEY",
                                    f"未知的键“{key}”（应为 distribution / incentive）",
                                    f"unknown key “{key}” (expected distribution / incentive)"))
    distribution = DistributionPolicy.from_dict(doc["distribution"], problems) if "distribution" in doc \
        else None
    incentive = Incentive.from_dict(doc["incentive"], problems) if "incentive" in doc else None
    return PolicyFile(distribution, incentive, tuple(problems))
