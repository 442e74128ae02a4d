"""Fixtures: a migrated demo database per test (copied from a session template), clients per role.

``JIXIAO_TEST_DATABASE=postgresql`` runs the same tests against a throwaway PostgreSQL cluster.
"""

from __future__ import annotations

import atexit
import datetime as dt
import itertools
import os
import shutil
import sqlite3
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

if "JIXIAO_INSTANCE" not in os.environ:
    os.environ["JIXIAO_INSTANCE"] = tempfile.mkdtemp(prefix="jixiao-instance-")
    atexit.register(shutil.rmtree, os.environ["JIXIAO_INSTANCE"], True)
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")

from sqlalchemy import create_engine, event, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from tests.app_building import install as install_cheaper_app_building  # noqa: E402
from tests.factories import (  # noqa: E402, F401 - the names tests have imported from here
    DEMO_USERS,
    PASSWORD,
    ApiClient,
    csrf_token,
    jwt_token,
    make_app,
)

BACKEND = os.environ.get("JIXIAO_TEST_DATABASE", "sqlite")
install_cheaper_app_building()


@event.listens_for(Engine, "connect")
def _sqlite_without_fsync(dbapi_connection, _record) -> None:
    """A test's SQLite file is thrown away after the test: its commits need not wait for the disk
    (``synchronous=OFF`` still survives the process dying; only the machine losing power would lose them)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=OFF")


class _SqliteDatabases:
    def __init__(self, root: str) -> None:
        self.root = root
        self.template = os.path.join(root, "template.db")
        self.counter = itertools.count()

    def template_url(self) -> str:
        return f"sqlite:///{self.template}"

    def copy(self) -> str:
        path = os.path.join(self.root, f"test{next(self.counter)}.db")
        shutil.copyfile(self.template, path)
        return f"sqlite:///{path}"

    def drop(self, url: str) -> None:
        os.unlink(url.removeprefix("sqlite:///"))

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class _PostgresDatabases:
    def __init__(self) -> None:
        from tests.pgserver import PostgresCluster

        self.cluster = PostgresCluster().start()
        self.admin = create_engine(self.cluster.url(), isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(text("CREATE DATABASE jixiao_template"))
        self.counter = itertools.count()
        # Copies are made and dropped by one thread of their own: the next test's copy is made while this
        # test runs (a copy takes the server a few tenths of a second), never while the template is built.
        self.maker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-databases")
        self.next: Future[str] | None = None

    def template_url(self) -> str:
        return self.cluster.url("jixiao_template")

    def _create(self) -> str:
        name = f"jixiao_test_{next(self.counter)}"
        with self.admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name} TEMPLATE jixiao_template"))
        return self.cluster.url(name)

    def _drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with self.admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))

    def copy(self) -> str:
        made = self.next or self.maker.submit(self._create)
        self.next = self.maker.submit(self._create)
        return made.result()

    def drop(self, url: str) -> None:
        self.maker.submit(self._drop, url)

    def close(self) -> None:
        self.maker.shutdown(wait=True)
        self.admin.dispose()
        self.cluster.stop()


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    """Builds the template once: migrations, roles and permissions, the demo organisation."""
    from app.extensions import db
    from app.setup import prepare

    dbs = _PostgresDatabases() if BACKEND == "postgresql" else _SqliteDatabases(
        str(tmp_path_factory.mktemp("db"))
    )
    template_app = make_app(dbs.template_url())
    prepare(template_app, demo=True)
    with template_app.app_context():
        db.session.remove()
        db.engine.dispose()
    yield dbs
    dbs.close()


@pytest.fixture
def database_url(databases):
    url = databases.copy()
    yield url
    databases.drop(url)


@pytest.fixture
def app(database_url):
    """The application on a fresh copy of the demo database. No app context stays pushed, so
    that each test-client request gets its own ``g`` as in production; use ``appctx`` for queries."""
    from app.extensions import db

    application = make_app(database_url)
    yield application
    # A job a request started runs in the app's runner thread: stop it before its database goes.
    application.extensions["jixiao_jobs"].stop(timeout=30)
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def appctx(app):
    """An application context for direct database work in a test."""
    from app.extensions import db

    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def login_as(app):
    """Returns a browser-like client signed in through the login form as ``username``."""

    def _login(username: str, password: str = PASSWORD):
        c = app.test_client()
        token = csrf_token(c)
        r = c.post("/login/", data={"username": username, "password": password, "csrf_token": token})
        assert r.status_code == 302 and "/login" not in r.headers["Location"], f"login failed for {username}"
        return c

    return _login


@pytest.fixture
def api_as(app):
    def _api(username: str) -> ApiClient:
        c = app.test_client()
        return ApiClient(c, jwt_token(c, username))

    return _api


# -- time and the outbox ------------------------------------------------------------------------------------

class Clock:
    """The application's time in a test (``JIXIAO_CLOCK``, read by ``app.clock.now()``): it stands still
    until moved. ``clock.at`` is the current moment (aware, UTC); ``clock.move(hours=25)`` moves it
    (any ``timedelta`` arguments); ``clock.set(moment)`` puts it anywhere (an aware datetime)."""

    def __init__(self, at: dt.datetime | None = None) -> None:
        self.at = (at or dt.datetime.now(dt.UTC)).replace(microsecond=0)

    def __call__(self) -> dt.datetime:
        return self.at

    def move(self, **delta) -> dt.datetime:
        self.at = self.at + dt.timedelta(**delta)
        return self.at

    def set(self, moment: dt.datetime) -> dt.datetime:
        assert moment.tzinfo is not None, "the clock needs an aware datetime"
        self.at = moment.astimezone(dt.UTC)
        return self.at

    def install(self, application) -> Clock:
        application.config["JIXIAO_CLOCK"] = self
        return self


@pytest.fixture
def clock(request):
    """A :class:`Clock` starting now (to the second), installed on the test's app: ``outbox_app`` when the
    test uses it, else ``served.app`` for a browser test, else ``app``. Another app: ``clock.install(it)``."""
    names = request.fixturenames
    owner = ("outbox_app" if "outbox_app" in names else "served" if "served" in names else "app")
    target = request.getfixturevalue(owner)
    return Clock().install(target.app if owner == "served" else target)


@pytest.fixture
def outbox_app(database_url):
    """The application for the outbox and the periodic jobs, on a fresh demo database: no runner thread
    and no ticker (the test drains the queue and ticks by hand), and robots may post to http:// (a local
    listener)."""
    from app.extensions import db

    application = make_app(database_url, JIXIAO_JOB_RUNNER="none", JIXIAO_JOB_TICK_SECONDS=0,
                           JIXIAO_ROBOT_ALLOW_HTTP=True)
    yield application
    application.extensions["jixiao_jobs"].stop(timeout=30)
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def pytest_collection_modifyitems(config, items):
    """On PostgreSQL, only the tests that use a database run again (the rest ran on SQLite already)."""
    if BACKEND != "postgresql":
        return
    kept = [item for item in items if "databases" in getattr(item, "fixturenames", ())]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in set(kept)])
        items[:] = kept
