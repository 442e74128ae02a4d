"""Accounts from the employees file: an import creates new accounts only, never attaches a person to
an account that exists (whatever the case of its name), and its generated passwords pass the policy."""

import io

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import func, select

from app.extensions import db
from app.importing import ImportRejected, import_file
from app.models import Employee
from app.passwords import password_problem
from tests.source.factories import make_org

HEAD = "employee_no,name,station_code,username\n"


def text_file(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode("utf-8"))


def accounts() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def employees() -> int:
    return db.session.scalar(select(func.count()).select_from(Employee))


@pytest.fixture
def org(appctx):
    return make_org(db.session)


@pytest.mark.parametrize("rows,row", [
    ("NEW3,新人,T01,admin\n", 2),                       # an account bound to nobody
    ("NEW3,新人,T01,ADMIN\n", 2),                       # … in another case
    ("NEW1,甲,T01,fresh1\nNEW9,新人,T01,Emp9\n", 3),    # a demo employee's account in another case
    ("NEW3,新人,T01,HR\n", 2),
    ("NEW1,甲,T01,newbie\nNEW2,乙,T01,NewBie\n", 3),   # twice in the file, differing in case
    ("TA,甲,T01,emp1\n", 2),                            # an existing employee (update) onto another's account
])
def test_a_row_naming_an_existing_account_is_refused_and_nothing_is_stored(org, rows, row):
    before = (accounts(), employees())
    update = rows.startswith("TA,")
    with pytest.raises(ImportRejected) as info:
        import_file(db.session, "employees", text_file(HEAD + rows), update=update)
    assert (row, "username") in [(e["row"], e["column"]) for e in info.value.errors], info.value.errors
    assert (accounts(), employees()) == before
    assert db.session.scalar(select(Employee.user_id).where(Employee.employee_no == "NEW3")) is None


def test_the_administrator_stays_nobodys_account_through_the_api(api_as):
    data = {"file": (text_file(HEAD + "NEW3,新人,S01,admin\n"), "people.csv")}
    r = api_as("hr").post("/api/v1/import/employees", data=data, content_type="multipart/form-data")
    assert r.status_code == 422
    assert [(e["row"], e["column"]) for e in r.json["errors"]] == [(2, "username")]
    assert "admin" in r.json["errors"][0]["message"]


def test_update_keeps_a_person_on_their_own_account_in_any_case(appctx):
    own = db.session.scalar(select(Employee.user_id).where(Employee.employee_no == "EMP1"))
    result = import_file(db.session, "employees",
                         text_file(HEAD + "EMP1,张伟,S01,EMP1\n"), update=True)
    assert (result.updated, result.accounts) == (1, [])
    assert db.session.scalar(select(Employee.user_id).where(Employee.employee_no == "EMP1")) == own


def test_generated_passwords_pass_the_policy(org):
    rows = "".join(f"N{i},新人{i},T01,newcomer{i}\n" for i in range(20))
    result = import_file(db.session, "employees", text_file(HEAD + rows))
    assert len(result.accounts) == 20
    assert [a["username"] for a in result.accounts if password_problem(a["password"], a["username"])] == []
