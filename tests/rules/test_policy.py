"""The distribution policy of policy.toml: the counts a limit allows, breaches per scope and headcount,
their messages in Chinese and English, the problems `rules check` reports, and policy.toml's round trip
through `rules load` / `rules export`."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import RuleSetVersion
from app.rules import POLICY_FILE, Breach, DistributionPolicy, GradeLimit, RuleSet, breaches, load_dir
from app.rules.policy import allowed_count, read_policy_file
from app.services import rules as service
from tests.factories import RULES_DIR
from tests.rules.rules_support import replace_in


def grades(a: int = 0, b: int = 0, c: int = 0, d: int = 0, none: int = 0) -> list[str | None]:
    return ["A"] * a + ["B"] * b + ["C"] * c + ["D"] * d + [None] * none


def policy(*limits: GradeLimit, min_headcount: int = 10) -> DistributionPolicy:
    return DistributionPolicy(tuple(limits), min_headcount)


A_MAX = {scope: GradeLimit("A", max_share=0.2, scope=scope) for scope in ("network", "station", "both")}


def found(result: list[Breach]) -> list[tuple]:
    return [(b.scope, b.grade, b.kind, b.count, b.headcount, b.allowed) for b in result]


# -- the counts a limit allows ---------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "share", "headcount", "allowed"), [
    ("max", 0.2, 10, 2), ("max", 0.2, 14, 2), ("max", 0.2, 15, 3), ("max", 0.2, 4, 0),
    ("max", 0.3, 10, 3),  # 0.3 × 10 is 3.0000000000000004 in floats: still 3
    ("min", 0.05, 10, 1), ("min", 0.05, 40, 2), ("min", 0.05, 41, 3),
    ("min", 0.7, 10, 7),  # 0.7 × 10 is 7.000000000000001 in floats: ceil would say 8
    ("min", 0.07, 100, 7), ("min", 0, 50, 0), ("max", 1, 9, 9),
])
def test_a_maximum_allows_the_floor_and_a_minimum_requires_the_ceiling_of_share_times_headcount(
        kind, share, headcount, allowed):
    assert allowed_count(kind, share, headcount) == allowed


def test_a_maximum_is_breached_only_above_what_it_allows():
    assert breaches(policy(A_MAX["network"]), {"S01": grades(a=2, b=8)}) == []
    assert found(breaches(policy(A_MAX["network"]), {"S01": grades(a=3, b=7)})) == [
        ("network", "A", "max", 3, 10, 2)]


# -- scopes and headcount --------------------------------------------------------------------------------


def test_a_network_limit_counts_every_station_together():
    fine = {"S01": grades(a=3, b=7), "S02": grades(b=10)}  # 3 of 20 = 15 %
    assert breaches(policy(A_MAX["network"]), fine) == []
    over = {"S01": grades(a=3, b=7), "S02": grades(a=2, b=8)}  # 5 of 20 = 25 %, 4 allowed
    assert found(breaches(policy(A_MAX["network"]), over)) == [("network", "A", "max", 5, 20, 4)]


def test_a_station_limit_counts_each_station_with_the_minimum_headcount_on_its_own():
    stations = {"S01": grades(a=3, b=7), "S02": grades(b=10), "S03": grades(a=4)}
    assert found(breaches(policy(A_MAX["station"]), stations)) == [("S01", "A", "max", 3, 10, 2)]
    # S03 (4 people) is below the minimum headcount of 10; with a minimum of 4 it counts too
    assert found(breaches(policy(A_MAX["station"], min_headcount=4), stations)) == [
        ("S01", "A", "max", 3, 10, 2), ("S03", "A", "max", 4, 4, 0)]


def test_both_checks_the_network_and_each_station_network_first():
    stations = {"S02": grades(a=3, b=7), "S01": grades(a=3, b=7)}  # 6 of 20 over the network's 4
    assert found(breaches(policy(A_MAX["both"]), stations)) == [
        ("network", "A", "max", 6, 20, 4), ("S01", "A", "max", 3, 10, 2), ("S02", "A", "max", 3, 10, 2)]
    assert found(breaches(policy(A_MAX["both"]), {"S01": grades(a=3, b=7), "S02": grades(b=10)})) == [
        ("S01", "A", "max", 3, 10, 2)]


def test_an_appraisal_without_a_grade_counts_neither_in_count_nor_headcount():
    stations = {"S01": grades(a=2, b=8, none=5)}  # 2 of 10 graded: at the limit, not over
    assert breaches(policy(A_MAX["both"]), stations) == []
    assert found(breaches(policy(A_MAX["both"]), {"S01": grades(a=2, b=7, none=5)})) == [
        ("network", "A", "max", 2, 9, 1)]  # 9 graded is below the station minimum of 10
    assert breaches(policy(A_MAX["both"]), {"S01": grades(none=12)}) == []


def test_a_minimum_is_breached_below_what_it_requires_and_one_limit_may_set_both_bounds():
    floor = GradeLimit("D", min_share=0.05, scope="network")
    assert found(breaches(policy(floor), {"S01": grades(b=20, d=1), "S02": grades(b=19)})) == [
        ("network", "D", "min", 1, 40, 2)]
    assert breaches(policy(floor), {"S01": grades(b=38, d=2)}) == []
    band = GradeLimit("B", min_share=0.3, max_share=0.6, scope="station")
    assert found(breaches(policy(band), {"S01": grades(b=7, c=3), "S02": grades(b=2, c=8)})) == [
        ("S01", "B", "max", 7, 10, 6), ("S02", "B", "min", 2, 10, 3)]


def test_no_policy_or_no_limits_breaks_nothing():
    assert breaches(None, {"S01": grades(a=10)}) == []
    assert breaches(policy(), {"S01": grades(a=10)}) == []


# -- messages --------------------------------------------------------------------------------------------


def test_a_breach_names_scope_grade_count_share_and_limit_in_both_languages():
    network, station = breaches(policy(A_MAX["both"]), {"S01": grades(a=3, b=7), "S02": grades(a=1, b=4)})
    assert network.scope == "network" and station.scope == "S01"
    assert station.message("zh_CN") == "S01：A 级 3/10 人（30%），上限 20%（最多 2 人）"
    assert station.message("en") == "S01: grade A 3/10 (30%), limit 20% (at most 2)"
    assert network.message() == "全网：A 级 4/15 人（26.7%），上限 20%（最多 3 人）"
    assert network.message("en") == "Network: grade A 4/15 (26.7%), limit 20% (at most 3)"
    (floor,) = breaches(policy(GradeLimit("D", min_share=0.05, scope="network")), {"S01": grades(b=40)})
    assert floor.message() == "全网：D 级 0/40 人（0%），下限 5%（至少 2 人）"
    assert floor.message("en") == "Network: grade D 0/40 (0%), minimum 5% (at least 2)"
    assert station.to_dict("en") == {
        "scope": "S01", "grade": "A", "kind": "max", "limit": 0.2, "count": 3, "headcount": 10,
        "share": 0.3, "allowed": 2, "message": "S01: grade A 3/10 (30%), limit 20% (at most 2)"}
    assert network.share == 0.2667


# -- reading and checking policy.toml --------------------------------------------------------------------


def test_the_default_rule_set_has_an_a_quota_of_20_percent_for_stations_of_ten():
    ruleset, problems = load_dir(RULES_DIR)
    assert not problems and POLICY_FILE in ruleset.extras
    assert ruleset.policy == DistributionPolicy((GradeLimit("A", max_share=0.2, scope="both"),), 10)
    assert ruleset.policy is ruleset.policy  # read once
    assert [p for p in ruleset.check() if p.file == POLICY_FILE] == []


def test_without_a_distribution_table_or_without_policy_toml_there_is_no_policy():
    assert RuleSet().policy is None and RuleSet().incentive is None
    assert RuleSet(extras={POLICY_FILE: '[incentive]\namount = "100"\n'}).policy is None
    read = read_policy_file("[distribution]\n[[distribution.limit]]\ngrade = \"A\"\nmax = 0.1\n")
    assert read.distribution == DistributionPolicy((GradeLimit("A", max_share=0.1, scope="both"),), 1)
    assert read.problems == ()


BAD_POLICY = """
[distribution]
min_headcount = -1
colour = "red"

[[distribution.limit]]
grade = "A"
max = 1.5
scope = "both"

[[distribution.limit]]
grade = "B"
min = 0.6
max = 0.4

[[distribution.limit]]
grade = "C"
max = 0.5
scope = "region"

[[distribution.limit]]
grade = "D"

[[distribution.limit]]
grade = "E"
max = 0.1

[[distribution.limit]]
grade = "A"
min = 0.05
scope = "network"

[[distribution.limit]]
grade = "A"
min = 0.01
scope = "network"
"""


def policy_problems(text: str) -> list[tuple[str, str, str]]:
    ruleset, _ = load_dir(RULES_DIR)
    ruleset = dataclasses.replace(ruleset, extras={**ruleset.extras, POLICY_FILE: text})
    return [(p.item, p.field, p.code) for p in ruleset.check() if p.file == POLICY_FILE]


def test_check_reports_every_problem_of_the_distribution_policy():
    assert policy_problems(BAD_POLICY) == [
        ("distribution", "colour", "UNKNOWN_KEY"),
        ("distribution", "min_headcount", "BAD_VALUE"),
        ("distribution limit A", "max", "BAD_VALUE"),  # a share outside 0..1
        ("distribution limit B", "min", "BAD_VALUE"),  # min above max
        ("distribution limit C", "scope", "BAD_VALUE"),
        ("distribution limit D", "max", "MISSING"),  # neither max nor min
        ("distribution limit A", "grade", "DUPLICATE"),
        ("distribution limit E", "grade", "UNKNOWN_GRADE"),
    ]
    read = read_policy_file(BAD_POLICY)
    # the limits with a shape problem are left out of the policy; the others stay
    assert [(limit.grade, limit.scope) for limit in read.distribution.limits] == [
        ("E", "both"), ("A", "network"), ("A", "network")]
    assert read.distribution.min_headcount == 1


def test_messages_of_the_policy_problems_say_what_is_wrong_in_both_languages():
    ruleset = RuleSet(extras={POLICY_FILE: BAD_POLICY})
    problems = {p.item + " " + p.field: p for p in read_policy_file(BAD_POLICY).problems}
    share = problems["distribution limit A max"]
    assert "0 到 1" in share.message("zh_CN") and "between 0 and 1" in share.message("en")
    assert "高于上限" in problems["distribution limit B min"].message()
    assert "network / station / both" in problems["distribution limit C scope"].message("en")
    unknown = [p for p in ruleset.check() if p.code == "UNKNOWN_GRADE"]
    assert [p.item[len("distribution limit "):] for p in unknown] == ["E", "A", "A"]
    assert unknown[0].message() == "没有等级“E”（grades.toml 中的等级：无）"  # this rule set has no grades


def test_a_toml_error_or_an_unknown_table_in_policy_toml_is_a_problem_of_that_file():
    assert [(p.file, p.code) for p in read_policy_file("[distribution\n").problems] == [(POLICY_FILE, "TOML")]
    assert [(p.field, p.code) for p in read_policy_file("[bonus]\nx = 1\n").problems] == [
        ("bonus", "UNKNOWN_KEY")]


# -- the rules/ directory in the database ----------------------------------------------------------------


def version_count() -> int:
    return db.session.scalar(select(func.count()).select_from(RuleSetVersion))


def test_policy_toml_is_loaded_hashed_and_exported_verbatim(appctx, rules_copy, tmp_path):
    version, ruleset = service.published_ruleset(db.session)
    assert ruleset.extras[POLICY_FILE] == (RULES_DIR / POLICY_FILE).read_text(encoding="utf-8")
    assert ruleset.policy is not None and ruleset.incentive is not None
    assert service.load_dir(db.session, rules_copy).created is False  # idempotent with policy.toml
    service.export_version(db.session, tmp_path / "out")
    assert (tmp_path / "out" / POLICY_FILE).read_bytes() == (RULES_DIR / POLICY_FILE).read_bytes()
    replace_in(rules_copy / POLICY_FILE, "max = 0.20", "max = 0.25")
    changed = service.load_dir(db.session, rules_copy)
    assert changed.created and changed.version.number == 2
    assert service.ruleset_for_version(db.session, changed.version.id).policy.limits[0].max_share == 0.25
    assert {"kind": "file", "key": POLICY_FILE, "change": "changed", "fields": []} in \
        service.diff_rulesets(ruleset, service.ruleset_for_version(db.session, changed.version.id))
    assert service.load_dir(db.session, RULES_DIR).reactivated and version_count() == 2


def test_rules_check_prints_the_problems_of_a_bad_policy_and_load_refuses_it(app, rules_copy):
    (rules_copy / POLICY_FILE).write_text(BAD_POLICY, encoding="utf-8")
    runner = app.test_cli_runner()
    checked = runner.invoke(args=["rules", "check", str(rules_copy)])
    assert checked.exit_code != 0
    assert "ERROR policy.toml: distribution limit A [max]: BAD_VALUE" in checked.output
    assert "ERROR policy.toml: distribution limit E [grade]: UNKNOWN_GRADE" in checked.output
    loaded = runner.invoke(args=["rules", "load", str(rules_copy)])
    assert loaded.exit_code != 0 and "nothing was loaded" in loaded.output
    with app.app_context():
        assert version_count() == 1
