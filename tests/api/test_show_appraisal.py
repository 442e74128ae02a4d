"""One appraisal (``GET /api/v1/appraisal/<id>``) is read with its relations in one statement and written
directly: the same answer as FAB's own item (a request naming its columns) for every reader and language,
404 outside the caller's scope and for keys that cannot exist, and no statement per relation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.api.appraisal import AppraisalApi
from app.extensions import db
from app.models import Appraisal
from app.scoping import scope_clause, scope_for
from tests.factories import counted

COLUMNS = "!(" + ",".join(AppraisalApi.show_columns) + ")"


def ids_in_scope(app, username: str) -> tuple[list[int], list[int]]:
    """The appraisals ``username`` may read, and those they may not."""
    with app.app_context():
        user = app.appbuilder.sm.find_user(username=username)
        mine = set(db.session.scalars(select(Appraisal.id).where(scope_clause(Appraisal, scope_for(user)))))
        every = list(db.session.scalars(select(Appraisal.id).order_by(Appraisal.id)))
    return [i for i in every if i in mine], [i for i in every if i not in mine]


@pytest.mark.parametrize("username", ["hr", "sup1", "emp1"])
def test_an_appraisal_answers_as_fabs_own_item(app, api_as, username):
    api = api_as(username)
    mine, others = ids_in_scope(app, username)
    for pk in mine[:3]:
        for language in ("zh", "en"):
            fast = api.get(f"/api/v1/appraisal/{pk}?_l_={language}")
            own = api.get(f"/api/v1/appraisal/{pk}?_l_={language}&q=(columns:{COLUMNS})")
            assert fast.status_code == own.status_code == 200
            assert fast.json["result"] == own.json["result"], (pk, language)
            assert fast.json["id"] == own.json["id"]
            assert fast.json["show_columns"] == AppraisalApi.show_columns
    for pk in others[:3]:
        assert api.get(f"/api/v1/appraisal/{pk}").status_code == 404
    if username == "hr":
        assert mine and mine[0] is not None


@pytest.mark.parametrize("pk", ["0", "-1", "abc", str(2**40), "999999"])
def test_a_key_that_names_no_appraisal_is_not_found(api_as, pk):
    r = api_as("hr").get(f"/api/v1/appraisal/{pk}")
    assert r.status_code == 404


def test_an_appraisal_reads_its_relations_with_it(app, api_as):
    api = api_as("hr")
    pk = ids_in_scope(app, "hr")[0][0]
    api.get(f"/api/v1/appraisal/{pk}")
    with counted(app) as statements:
        assert api.get(f"/api/v1/appraisal/{pk}").status_code == 200
    assert not [s for s in statements if s.lstrip().upper().startswith(("SELECT CYCLE.", "SELECT STATION."))]
    appraisals = [s for s in statements
                  if s.lstrip().startswith("SELECT appraisal.") and "audit_event" not in s]
    assert len(appraisals) == 1 and "JOIN cycle" in appraisals[0] and "JOIN station" in appraisals[0]
