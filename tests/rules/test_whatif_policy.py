"""The what-if against a draft's policy.toml: the grade distribution before and after with the breaches of
the draft's distribution policy named, and the incentive amounts before (the stored snapshots') and after
(the draft's formula, caps and station pools) per station and in total, exact to the yuan in Decimal; on the
screen and in `rules whatif DIR --cycle NAME`."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Appraisal, Cycle, RuleSetVersion
from app.rules import POLICY_FILE
from app.services import rules as service
from tests.cycles.conftest import whatif_page
from tests.factories import RULES_DIR

POOLED_POLICY = {
    "distribution": {"min_headcount": 5, "limit": [
        {"grade": "B", "max": 0.2, "scope": "network"},
        {"grade": "D", "min": 0.3, "scope": "station"},
    ]},
    "incentive": {"amount": "bonus_base * coefficient", "cap": 10000,
                  "pool": [{"station": "S02", "amount": 10000}],
                  "test": [{"name": "B", "inputs": {"bonus_base": 2000, "coefficient": 1},
                            "expected": 2000}]},
}


def demo_cycle() -> Cycle:
    """The demo's quarterly cycle: 13 current appraisals in S01 and S02, each with an incentive amount."""
    return db.session.scalar(select(Cycle).where(Cycle.name.like("演示考核%")).order_by(Cycle.id).limit(1))


def stored_amounts(cycle: Cycle) -> dict[str, Decimal]:
    """Station code → the sum of the amounts the cycle's current snapshots carry."""
    out: dict[str, Decimal] = {}
    for appraisal in db.session.scalars(select(Appraisal).where(Appraisal.cycle_id == cycle.id,
                                                                Appraisal.is_current.is_(True))):
        amount = (appraisal.snapshot.get("incentive") or {}).get("amount")
        out[appraisal.station.code] = out.get(appraisal.station.code, Decimal(0)) + Decimal(amount or 0)
    return out


def draft_with(policy: dict | None) -> int:
    version = service.new_draft(db.session)
    service.save_policy(db.session, version.id, policy)
    return version.id


@pytest.fixture
def cycle(appctx) -> Cycle:
    found = demo_cycle()
    assert found is not None
    return found


def test_the_same_rules_give_the_same_amounts_before_and_after(cycle):
    result = service.whatif(db.session, service.current_version(db.session).id, cycle.name)
    stored = stored_amounts(cycle)
    money = result["incentives"]
    assert money["formula"] == "bonus_base * coefficient" and money["cap"] == "10000"
    assert [s["station"] for s in money["stations"]] == sorted(stored)
    for station in money["stations"]:
        assert station["before"] == station["after"] == str(stored[station["station"]])
        assert station["change"] == "0" and station["pool"] is None
    assert money["before_total"] == money["after_total"] == str(sum(stored.values()))
    assert all(r["old_amount"] == r["new_amount"] for r in result["employees"])
    assert all(isinstance(r["new_amount"], str) for r in result["employees"])


def test_a_draft_with_a_pool_shares_it_out_exactly_and_totals_add_up_in_decimal(cycle):
    vid = draft_with(POOLED_POLICY)
    result = service.whatif(db.session, vid, cycle.name)
    money = result["incentives"]
    stations = {s["station"]: s for s in money["stations"]}
    stored = stored_amounts(cycle)
    assert stations["S02"]["pool"] == "10000" and stations["S02"]["after"] == "10000"
    assert stations["S02"]["before"] == str(stored["S02"])
    assert stations["S02"]["change"] == str(Decimal(10000) - stored["S02"])
    assert stations["S01"]["after"] == stations["S01"]["before"] == str(stored["S01"])
    people = [r for r in result["employees"] if r["station"] == "S02"]
    assert sum(Decimal(r["new_amount"]) for r in people) == Decimal(10000)
    assert all(Decimal(r["new_amount"]) == Decimal(r["new_amount"]).to_integral_value() for r in people)
    # Scaled in proportion: the biggest formula amount gets the biggest share.
    biggest = max(people, key=lambda r: Decimal(r["old_amount"]))
    assert Decimal(biggest["new_amount"]) == max(Decimal(r["new_amount"]) for r in people)
    assert Decimal(money["after_total"]) == sum(Decimal(s["after"]) for s in money["stations"])
    assert money["after_total"] == str(stored["S01"] + 10000)
    assert money["before_total"] == str(sum(stored.values()))
    assert money["change"] == str(Decimal(money["after_total"]) - Decimal(money["before_total"]))


def test_the_distribution_is_compared_with_the_drafts_policy_before_and_after(cycle):
    vid = draft_with(POOLED_POLICY)
    result = service.whatif(db.session, vid, cycle.name, locale="en")
    dist = result["distribution"]
    before = dist["before"]
    headcount = sum(n for grade, n in before.items() if grade != "N/A")
    assert dist["policy"]["min_headcount"] == 5
    assert [limit["grade"] for limit in dist["policy"]["limit"]] == ["B", "D"]
    network_b = [b for b in dist["breaches_before"] if b["scope"] == "network" and b["grade"] == "B"]
    assert network_b == [{
        "scope": "network", "grade": "B", "kind": "max", "limit": 0.2, "count": before["B"],
        "headcount": headcount, "share": round(before["B"] / headcount, 4), "allowed": headcount * 2 // 10,
        "message": network_b[0]["message"]}]
    assert network_b[0]["message"].startswith(f"Network: grade B {before['B']}/{headcount}")
    station_d = [b for b in dist["breaches_before"] if b["scope"] != "network"]
    assert station_d
    for breach in station_d:  # a station below 30 % D breaches the floor
        counts = next(s for s in dist["stations"] if s["station"] == breach["scope"])["before"]
        assert breach["grade"] == "D" and breach["kind"] == "min" and breach["count"] == counts["D"]
    assert {s["station"] for s in dist["stations"]} == {"S01", "S02"}
    assert sum(sum(s["after"].values()) for s in dist["stations"]) == sum(dist["after"].values())
    assert dist["breaches_after"] == dist["breaches_before"]  # the same grades: the same breaches
    plain = service.whatif(db.session, draft_with(None), cycle.name)
    assert plain["distribution"]["policy"] is None and plain["distribution"]["breaches_after"] == []
    assert plain["incentives"]["after_total"] == "0" and plain["incentives"]["formula"] is None
    assert all(r["new_amount"] is None for r in plain["employees"])
    assert plain["incentives"]["before_total"] == result["incentives"]["before_total"]


def test_a_calibrated_grade_is_kept_and_changes_the_after_side(cycle):
    appraisal = db.session.scalar(select(Appraisal).where(Appraisal.cycle_id == cycle.id,
                                                          Appraisal.is_current.is_(True),
                                                          Appraisal.grade == "D").limit(1))
    snapshot = dict(appraisal.snapshot)
    snapshot["calibration"] = {"from_total": appraisal.total, "from_grade": "D", "total": None, "grade": "A"}
    appraisal.snapshot = snapshot
    db.session.commit()
    result = service.whatif(db.session, service.current_version(db.session).id, cycle.name)
    row = next(r for r in result["employees"] if r["employee_no"] == appraisal.employee.employee_no)
    assert row["old_grade"] == "D" and row["new_grade"] == "A"
    assert result["distribution"]["after"]["A"] == result["distribution"]["before"]["A"] + 1


def test_the_cli_prints_distribution_breaches_and_amounts_as_strings(app, appctx, rules_copy):
    cycle = demo_cycle()
    text = service.policy_text(POOLED_POLICY)
    (rules_copy / POLICY_FILE).write_text(text, encoding="utf-8")
    out = app.test_cli_runner().invoke(args=["rules", "whatif", str(rules_copy), "--cycle", cycle.name])
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    dist, money = result["distribution"], result["incentives"]
    assert {"before", "after", "breaches_before", "breaches_after", "stations", "policy"} <= set(dist)
    assert any(b["scope"] == "network" and b["grade"] == "B" for b in dist["breaches_after"])
    assert {"before_total", "after_total", "change", "stations"} <= set(money)
    assert all(isinstance(s[k], str) for s in money["stations"] for k in ("before", "after", "change"))
    assert next(s for s in money["stations"] if s["station"] == "S02")["after"] == "10000"
    assert Decimal(money["after_total"]) == sum(Decimal(s["after"]) for s in money["stations"])
    plain = app.test_cli_runner().invoke(args=["rules", "whatif", str(RULES_DIR), "--cycle", cycle.name])
    assert json.loads(plain.output)["incentives"]["change"] == "0"


def test_the_screen_shows_breaches_and_amounts_before_and_after(appctx, login_as):
    cycle = demo_cycle()
    vid = draft_with(POOLED_POLICY)
    stored = stored_amounts(cycle)
    hr = login_as("hr")
    page = whatif_page(hr, vid, cycle.name)
    assert "jx-whatif-incentives" in page and "jx-whatif-stations" in page
    assert f"¥{sum(stored.values())}" in page and f"¥{stored['S01'] + 10000}" in page
    assert "全网：B 级" in page and "上限 20%" in page
    assert "¥10000" in page and "bonus_base * coefficient" in page
    version = db.session.get(RuleSetVersion, vid)
    assert not version.is_published  # the what-if changed nothing
