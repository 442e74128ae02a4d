"""The cards' and the inbox's counts read the index on (current, state, cycle, workflow, people) in its
own order: on SQLite the plan of each grouped statement over the appraisals alone searches that index and
sorts nothing (sorting every draft was most of HR's home page at 100,000 appraisals)."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from app import clock as app_clock
from app.extensions import db
from app.services.inbox import tally
from tests.factories import caller


@pytest.mark.parametrize("username", ["hr", "sup1"])
def test_the_grouped_counts_read_the_index_and_sort_nothing(app, fresh, username):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("the plans are SQLite's")
        statements = []

        def keep(_conn, _cursor, statement, parameters, *_args):
            statements.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", keep)
        try:
            counts = tally(db.session, caller(app, username), app_clock.now())
        finally:
            event.remove(db.engine, "before_cursor_execute", keep)
        assert counts, f"{username} has something to do"
        # (the few rows naming the caller's own people are grouped apart, by every flag: a small sort)
        grouped = [(s, p) for s, p in statements if "JOIN" not in s and s.rstrip().endswith(
            "GROUP BY appraisal.state, appraisal.cycle_id, appraisal.rule_set_version_id")]
        assert grouped, "the states naming nobody's supervisor are counted over the appraisals alone"
        with db.engine.connect() as conn:
            for statement, parameters in grouped:
                plan = " | ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}",
                                                                           parameters))
                assert "COVERING INDEX ix_appraisal_current_state" in plan, plan
                assert "TEMP B-TREE" not in plan, plan
