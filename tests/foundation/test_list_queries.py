"""List pages run a fixed number of SQL statements, whatever their size: no statement per row (N+1) on
the appraisal and work-order lists, API and screen."""

from __future__ import annotations

import pytest

from tests.factories import statements_for

LISTS = [
    ("/api/v1/appraisal/?q=(page_size:{n})", "api"),
    ("/api/v1/workorder/?q=(page_size:{n})", "api"),
    ("/appraisal/list/?psize_AppraisalView={n}", "screen"),
    ("/workorderview/list/?psize_WorkOrderView={n}", "screen"),
]


@pytest.mark.parametrize(("path", "kind"), LISTS)
def test_a_list_page_runs_as_many_statements_for_two_rows_as_for_ten(app, login_as, path, kind):
    hr = login_as("hr")
    few = statements_for(app, hr, path.format(n=2))
    many = statements_for(app, hr, path.format(n=10))
    assert len(many) == len(few), "\n".join(many)
