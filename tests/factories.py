"""Helpers that are not fixtures: apps, clients, tokens, the demo's people and appraisals, moves through the
workflow. Keyword defaults stand for the demo (password ``demo123``, comment "意见"). The conftest files build
their fixtures from these; tests import them from here.

Importing this module imports the app, so the test environment (``JIXIAO_INSTANCE``, ``SECRET_KEY``) must
be set first: tests/conftest.py does that before it imports this module.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

from sqlalchemy import event, select, update
from werkzeug.security import generate_password_hash

from app import create_app
from app.extensions import db
from app.models import Appraisal, AuditEvent, Cycle, Employee, WorkOrder
from app.services.caller import Caller, caller_for
from app.services.review import review
from app.services.transitions import transition

ROOT = Path(__file__).resolve().parents[1]
RULES_DIR = ROOT / "rules"
SHOTS = ROOT / "test-output" / "browser"

PASSWORD = "demo123"
# Passwords hashed cheaply in tests: a sign-in checks one hash, and scrypt (the default) takes a quarter of
# a second of CPU each time; the hash records its method, so checking it works the same.
CHEAP_HASH = "pbkdf2:sha256:1000"
DEMO_USERS = ["admin", "hr", "manager1", "sup1", "sup2"] + [f"emp{i}" for i in range(1, 11)]
FRESH = "测试周期"
FAKE_HASH = generate_password_hash("not a password", method=CHEAP_HASH)  # checked for an unknown user


# -- apps and clients --------------------------------------------------------------------------------------

def make_app(url: str, **overrides):
    """The application on the database at ``url``, for tests (demo password, TESTING)."""
    config = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "JIXIAO_DEMO_PASSWORD": PASSWORD,
              "FAB_PASSWORD_HASH_METHOD": CHEAP_HASH, "AUTH_DB_FAKE_PASSWORD_HASH_CHECK": FAKE_HASH}
    config.update(overrides)
    return create_app(config)


def csrf_token(client, path: str = "/login/") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'<meta name="csrf-token" content="([^"]+)"', html
    )
    assert match, f"no CSRF token on {path}"
    return match.group(1)


class ApiClient:
    """A JWT client: ``api.get("/api/v1/…")`` with the token of one user."""

    def __init__(self, client, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def __getattr__(self, method):
        call = getattr(self.client, method)

        def _call(url, **kwargs):
            kwargs.setdefault("headers", {}).update(self.headers)
            return call(url, **kwargs)

        return _call


def jwt_token(client, username: str, password: str = PASSWORD) -> str:
    r = client.post("/api/v1/security/login",
                    json={"username": username, "password": password, "provider": "db"})
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.json["access_token"]


# -- cycles and the workflow (inside an app context) -------------------------------------------------------

def caller(app, username: str) -> Caller:
    """The demo user ``username`` as the services' caller."""
    return caller_for(db.session, app.appbuilder.sm.find_user(username=username))


def demo_cycle() -> Cycle:
    return db.session.scalar(select(Cycle).order_by(Cycle.id))


def demo_period():
    demo = demo_cycle()
    assert demo is not None, "the demo database has its computed cycle"
    return demo.start, demo.end


def appraisal_ids(cycle_id: int) -> dict[str, int]:
    """employee number → id of the current appraisal in the cycle."""
    return dict(db.session.execute(
        select(Employee.employee_no, Appraisal.id).join(Appraisal, Appraisal.employee_id == Employee.id)
        .where(Appraisal.cycle_id == cycle_id, Appraisal.is_current.is_(True))
    ).all())


def current(cycle_id: int, employee_no: str) -> Appraisal:
    db.session.expire_all()
    return db.session.get(Appraisal, appraisal_ids(cycle_id)[employee_no])


def events(appraisal_id: int, action: str | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.appraisal_id == appraisal_id).order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(db.session.scalars(query))


def spoil_first_fix(employee_no: str) -> None:
    """Change the data behind an employee's metrics: none of their orders was fixed the first time."""
    employee_id = db.session.scalar(select(Employee.id).where(Employee.employee_no == employee_no))
    db.session.execute(update(WorkOrder).where(WorkOrder.technician_id == employee_id)
                       .values(first_time_fixed=False))
    db.session.commit()


class Moves:
    """Drive appraisals of one cycle through the real services, as named demo users."""

    def __init__(self, app, cycle_id: int) -> None:
        self.app, self.cycle_id = app, cycle_id

    def id(self, employee_no: str) -> int:
        return appraisal_ids(self.cycle_id)[employee_no]

    def do(self, username: str, employee_no: str, action: str, comment: str = "意见") -> str:
        return transition(db.session, self.id(employee_no), caller(self.app, username), action, comment)

    def review(self, username: str, employee_no: str, **kwargs):
        return review(db.session, self.id(employee_no), caller(self.app, username), **kwargs)

    def to_pending_review(self, employee_no: str) -> None:
        self.do("hr", employee_no, "submit")

    def to_approved(self, employee_no: str) -> None:
        """Submit and approve, through the second review when the guard asks for it."""
        self.to_pending_review(employee_no)
        supervisor = "sup1" if self.station(employee_no) == "S01" else "sup2"
        if self.do(supervisor, employee_no, "approve") == "pending_second_review":
            self.do("manager1" if self.station(employee_no) == "S01" else "hr", employee_no, "approve")

    def station(self, employee_no: str) -> str:
        return current(self.cycle_id, employee_no).station.code


# -- sign-off ----------------------------------------------------------------------------------------------

def appraisal_of(employee_no: str) -> Appraisal:
    """The employee's current appraisal in the earliest cycle (the demo's)."""
    return db.session.scalar(
        select(Appraisal).join(Employee, Employee.id == Appraisal.employee_id)
        .where(Employee.employee_no == employee_no, Appraisal.is_current.is_(True))
        .order_by(Appraisal.cycle_id)
    )


def sign(app, employee_no: str) -> int:
    """Sign the employee's (approved) appraisal as the employee; returns its id."""
    appraisal = appraisal_of(employee_no)
    assert appraisal.state.value == "approved", f"{employee_no} is approved in the demo"
    assert transition(db.session, appraisal.id, caller(app, employee_no.lower()), "sign", "") == "signed"
    return appraisal.id


def signing(app, *employee_nos: str) -> list[int]:
    """Sign each one's appraisal in an app context of its own (one left pushed would share ``g``, the
    signed-in user, with every test-client request)."""
    with app.app_context():
        ids = [sign(app, no) for no in employee_nos]
        db.session.remove()
    return ids


def current_id(app, employee_no: str) -> int:
    with app.app_context():
        return appraisal_of(employee_no).id


# -- statements a request runs -----------------------------------------------------------------------------

@contextlib.contextmanager
def counted(app):
    """The SQL statements the application's engine runs inside the block, in order."""
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def statements_for(app, client, path: str) -> list[str]:
    """The statements of a GET of ``path`` (answered 200), after a first GET has filled the caches a
    worker keeps."""
    client.get(path)
    with counted(app) as statements:
        r = client.get(path)
    assert r.status_code == 200, path
    return statements


# -- the browser -------------------------------------------------------------------------------------------

def login(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("form [type=submit]").first.click()
    page.wait_for_load_state()
    assert "/login" not in page.url, f"login failed for {username}"


def screenshot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
