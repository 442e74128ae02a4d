"""The appraisal list API writes its rows itself and relabels of each snapshot only the parts it answers
with: the same answer as FAB's own list (a request naming its columns), the snapshots read in one
statement, and as many statements for ten rows as for two, on either way."""

from __future__ import annotations

import re

import pytest

from app.api.appraisal import AppraisalApi
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
    api = api_as("hr")
    api.get("/api/v1/appraisal/?q=(page_size:10)")
    with counted(app) as statements:
        r = api.get("/api/v1/appraisal/?q=(page_size:10)")
    assert r.status_code == 200 and len(r.json["result"]) == 10
    snapshots = [s for s in statements if re.search(r"\bappraisal\.snapshot\b", s)]
    assert len(snapshots) == 1 and "appraisal.manual" not in snapshots[0]


@pytest.mark.parametrize("columns", [COLUMNS, "!(id,total,snapshot)"])
def test_a_list_naming_its_columns_runs_as_many_statements_for_ten_rows_as_for_two(app, api_as, columns):
    api = api_as("hr")
    sizes = []
    for size in (2, 10):
        path = f"/api/v1/appraisal/?q=(columns:{columns},page_size:{size})"
        api.get(path)
        with counted(app) as statements:
            r = api.get(path)
        assert r.status_code == 200 and len(r.json["result"]) == size
        sizes.append(len(statements))
    assert sizes[0] == sizes[1]
