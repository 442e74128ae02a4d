"""The appraisal list API writes its rows itself and relabels of each snapshot only the parts it answers
with, keeping them by the snapshot's hash: the same answer as FAB's own list (a request naming its
columns) whether kept or not, in either language, a changed snapshot listed as changed, the snapshots
read in one statement, and as many statements for ten rows as for two, on either way."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from app.api import appraisal_list as api_module
from app.api.appraisal import AppraisalApi
from app.extensions import db
from app.models import Appraisal
from tests.factories import counted

COLUMNS = "!(" + ",".join(AppraisalApi.list_columns) + ")"


@pytest.mark.parametrize("username", ["hr", "sup1", "emp1"])
def test_the_list_answers_as_fabs_own_list(api_as, username):
    api = api_as(username)
    for q in ("page_size:20", "order_column:total,order_direction:desc,page_size:7,page:1"):
        fast = api.get(f"/api/v1/appraisal/?q=({q})")
        own = api.get(f"/api/v1/appraisal/?q=(columns:{COLUMNS},{q})")
        assert fast.status_code == own.status_code == 200
        for key in ("count", "ids", "result"):
            assert fast.json[key] == own.json[key], key
    if username == "hr":
        assert fast.json["result"] and all(row["lines"] for row in fast.json["result"])


def test_a_page_reads_the_snapshots_in_one_statement_without_the_rest_of_the_rows(app, api_as):
    # (not kept from an earlier page)
    api = api_as("hr")
    api.get("/api/v1/appraisal/?q=(page_size:10)")
    api_module._kept_parts.clear()
    with counted(app) as statements:
        r = api.get("/api/v1/appraisal/?q=(page_size:10)")
    assert r.status_code == 200 and len(r.json["result"]) == 10
    snapshots = [s for s in statements if re.search(r"\bappraisal\.snapshot\b", s)]
    assert len(snapshots) == 1 and "appraisal.manual" not in snapshots[0]


@pytest.mark.parametrize("columns", [COLUMNS, "!(id,total,snapshot)"])
def test_a_list_naming_its_columns_runs_as_many_statements_for_ten_rows_as_for_two(app, api_as, columns):
    api = api_as("hr")
    api.get("/api/v1/appraisal/?q=(page_size:1)")  # the rule set of the page: known to the process since
    sizes = []
    for size in (2, 10):
        path = f"/api/v1/appraisal/?q=(columns:{columns},page_size:{size})"
        api.get(path)
        with counted(app) as statements:
            r = api.get(path)
        assert r.status_code == 200 and len(r.json["result"]) == size
        sizes.append(len(statements))
    assert sizes[0] == sizes[1]


def test_a_kept_page_answers_as_fabs_own_list_in_either_language(api_as):
    api = api_as("hr")
    for language in ("zh", "en", "zh", "en"):
        fast = api.get(f"/api/v1/appraisal/?_l_={language}&q=(page_size:15)")
        own = api.get(f"/api/v1/appraisal/?_l_={language}&q=(columns:{COLUMNS},page_size:15)")
        assert fast.status_code == own.status_code == 200
        assert fast.json["result"] == own.json["result"], language


def test_a_changed_snapshot_is_listed_as_changed(app, api_as):
    api = api_as("hr")
    before = api.get("/api/v1/appraisal/?q=(page_size:5)").json["result"][0]
    with app.app_context():
        appraisal = db.session.get(Appraisal, before["id"])
        snapshot = dict(appraisal.snapshot, na_notes=["a note written since"])
        db.session.execute(update(Appraisal).where(Appraisal.id == appraisal.id)
                           .values(snapshot=snapshot, snapshot_hash="0" * 64))
        db.session.commit()
    after = api.get("/api/v1/appraisal/?q=(page_size:5)").json["result"][0]
    assert after["id"] == before["id"] and after["na_notes"] == ["a note written since"]
    assert before["na_notes"] != after["na_notes"]
    assert {k: v for k, v in after.items() if k != "na_notes"} == {
        k: v for k, v in before.items() if k != "na_notes"}


@pytest.mark.parametrize("q", ["", "order_column:total,order_direction:desc,",
                               "filters:!((col:grade,opr:eq,value:B)),"])
def test_a_page_runs_as_many_statements_for_ten_rows_as_for_two_whether_kept_or_not(app, api_as, q):
    api = api_as("hr")
    api.get(f"/api/v1/appraisal/?q=({q}page_size:1)")  # the page's rule set and the list's count: known since
    sizes = []
    for size in (2, 10):
        path = f"/api/v1/appraisal/?q=({q}page_size:{size})"
        api_module._kept_parts.clear()
        with counted(app) as cold:
            r = api.get(path)
        assert r.status_code == 200 and len(r.json["result"]) == size
        with counted(app) as kept:
            assert api.get(path).json == r.json
        assert len(kept) == len(cold) - 1  # the snapshots, read once
        sizes.append((len(cold), len(kept)))
    assert sizes[0] == sizes[1]
