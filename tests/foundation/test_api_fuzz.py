"""Property-based fuzz: no request answers 5xx.

Schemathesis generates valid and invalid requests for every operation the OpenAPI document lists
(paths, query ``q`` rison, bodies, ids), sent with each role's token. Hypothesis sends hostile JSON
to every write route of the url map, and FAB's list arguments to every model screen.
``JIXIAO_FUZZ_EXAMPLES`` sets examples per operation (and role) (default 8; raise it for a longer run).
"""

import collections
import json
import os
import re

import flask
import prison
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode

from tests.conftest import jwt_token

STATUSES: list[int] = []
EXAMPLES = int(os.environ.get("JIXIAO_FUZZ_EXAMPLES", "8"))
ROLES = ["admin", "hr", "manager1", "sup1", "emp1"]
SKIP = {"/api/v1/security/login"}  # the login limiter has its own tests; fuzzing it locks users


@pytest.mark.parametrize("username", ROLES)
def test_no_request_answers_5xx(app, username):
    client = app.test_client()
    token = jwt_token(client, username)
    headers = {"Authorization": f"Bearer {token}"}
    doc = client.get("/api/v1/_openapi", headers=headers).json
    config = schemathesis.Config()
    config.projects.default.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
    schema = schemathesis.openapi.from_dict(doc, config=config)
    schema.app = app
    failures = []
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:
        if operation.path in SKIP:
            continue

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def fuzz(case):
            response = case.call(headers=headers)
            STATUSES.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {case.query} {case.body!r:.200} "
                                f"-> {response.status_code} {response.text[:200]}")

        fuzz()
    print(username, sorted(collections.Counter(STATUSES).items()))
    assert not failures, "\n".join(failures[:10])
    assert len(STATUSES) >= len(operations), "the fuzz sent fewer requests than there are operations"


# --- hostile JSON on every write endpoint, and the screens' list arguments -------------------------
#
# The OpenAPI fuzz above sends what the document describes; these send what it does not: JSON the
# application cannot store or compute with, on every write route of the url map (documented or not),
# filters of every column and operator of every model API, and FAB's list arguments on every screen.

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
ANONYMOUS_WRITES = {"/api/v1/verify", "/api/v1/security/login"}


def _json_text(text: str) -> str:
    return json.dumps(text)  # escapes a lone surrogate as \udxxx, as a client would send it


HOSTILE_VALUES = st.one_of(
    st.integers(64, 1300).map(lambda bits: str(2**bits)),  # beyond 64 bits, up to hundreds of digits
    st.integers(64, 400).map(lambda bits: str(-(2**bits))),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e400", "1" * 5000]),
    st.tuples(st.text(max_size=4), st.integers(0xD800, 0xDFFF), st.text(max_size=4)).map(
        lambda t: _json_text(t[0] + chr(t[1]) + t[2])),  # a lone surrogate
    st.tuples(st.integers(33, 1200), st.sampled_from(["[]", "{}"])).map(
        lambda t: ('[' * t[0] + ']' * t[0]) if t[1] == "[]" else ('{"a":' * t[0] + "1" + "}" * t[0])),
)


def hostile_bodies(keys: list[str]):
    key = st.sampled_from(keys).map(_json_text)
    return st.one_of(
        st.sampled_from(["[]", '"x"', "null", "1", "true", "[{}]", '["a", 1]']),  # not an object
        HOSTILE_VALUES,
        st.builds(lambda k, v: f"{{{k}: {v}}}", key, HOSTILE_VALUES),
        st.builds(lambda k, k2, v: f"{{{k}: {{{k2}: {v}}}}}", key, key, HOSTILE_VALUES),
        st.builds(lambda k, v: f"{{{k}: [1, {v}]}}", key, HOSTILE_VALUES),
    )


def _property_names(node, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        found.update(k for k in node.get("properties", {}) if isinstance(k, str))
        for value in node.values():
            _property_names(value, found)
    elif isinstance(node, list):
        for value in node:
            _property_names(value, found)
    return found


def _row_counts(app) -> dict[str, int]:
    from sqlalchemy import inspect, text

    from app.extensions import db

    with app.app_context():
        names = inspect(db.engine).get_table_names()
        with db.engine.connect() as conn:
            return {n: conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar() for n in names}


def test_hostile_json_on_every_write_endpoint_is_400_and_stores_nothing(app):
    client = app.test_client()
    headers = {"Authorization": f"Bearer {jwt_token(client, 'hr')}"}
    doc = client.get("/api/v1/_openapi", headers=headers).json
    keys = sorted(_property_names(doc, set()) | {"variables", "note", "comment", "adjustment", "manual",
                                                 "ids", "action", "username", "password", "sha256"})
    routes = sorted({(re.sub(r"<[^>]+>", "1", rule.rule), method) for rule in app.url_map.iter_rules()
                     if rule.rule.startswith("/api/") for method in rule.methods & set(WRITE_METHODS)})
    assert len(routes) >= 20
    before = _row_counts(app)
    failures: list[str] = []
    for path, method in routes:
        _fuzz_write(client, headers, path, method, hostile_bodies(keys), failures)
    failures.sort(key=lambda f: "-> 5" not in f)  # server errors first
    assert not failures, "\n".join(failures[:10])
    assert _row_counts(app) == before


def _fuzz_write(client, headers, path, method, bodies, failures):
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(body=bodies, anonymous=st.booleans())
    def fuzz(body, anonymous):
        anonymous = anonymous and path in ANONYMOUS_WRITES
        response = client.open(path, method=method, data=body, content_type="application/json",
                               headers={} if anonymous else headers)
        STATUSES.append(response.status_code)
        if response.status_code != 400 or "message" not in (response.json or {}):
            failures.append(f"{method} {path} {body[:80]!r} -> {response.status_code} {response.text[:150]}")

    fuzz()


FILTER_VALUES = st.recursive(
    st.one_of(st.integers(-(2**200), 2**200), st.floats(allow_nan=False, allow_infinity=False), st.none(),
              st.booleans(), st.text(max_size=8),
              st.sampled_from(["", "abc", "1", "1.5", "9999-12-31", "99999-01-01", "draft", "S01", "y"])),
    lambda inner: st.lists(inner, max_size=3), max_leaves=4)


def test_filters_of_every_api_never_answer_5xx(app):
    from app.api.base import JixiaoModelRestApi

    client = app.test_client()
    headers = {"Authorization": f"Bearer {jwt_token(client, 'hr')}"}
    apis = [v for v in app.appbuilder.baseviews if isinstance(v, JixiaoModelRestApi)]
    assert len(apis) >= 10
    failures: list[str] = []
    for api in apis:
        operators = [(col, flt.arg_name) for col, flts in api._filters.get_search_filters().items()
                     for flt in flts]
        if operators:
            _fuzz_filters(client, headers, f"/api/v1/{api.resource_name}/", operators, failures)
    assert not failures, "\n".join(failures[:10])


def _fuzz_filters(client, headers, url, operators, failures):
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(filters=st.lists(st.tuples(st.sampled_from(operators), FILTER_VALUES), min_size=1, max_size=3),
           as_json=st.booleans())
    def fuzz(filters, as_json):
        q = {"filters": [{"col": col, "opr": opr, "value": value} for (col, opr), value in filters]}
        q_text = json.dumps(q) if as_json else prison.dumps(q)
        response = client.get(url, headers=headers, query_string={"q": q_text})
        STATUSES.append(response.status_code)
        if response.status_code >= 500:
            failures.append(f"GET {url} {q!r:.200} -> {response.status_code} {response.text[:150]}")

    fuzz()


def test_screen_list_arguments_never_answer_5xx(app, login_as):
    from flask_appbuilder.baseviews import BaseCRUDView

    browser = login_as("admin")
    views = [v for v in app.appbuilder.baseviews
             if isinstance(v, BaseCRUDView) and f"{v.endpoint}.list" in app.view_functions]
    assert len(views) >= 8  # ours and FAB's user and role screens
    failures: list[str] = []
    for view in views:
        _fuzz_screen(app, browser, view, failures)
    assert not failures, "\n".join(failures[:10])


def _fuzz_screen(app, browser, view, failures):
    name = type(view).__name__
    with app.test_request_context():
        url = flask.url_for(f"{view.endpoint}.list")
    columns = sorted(view._filters._all_filters) or ["id"]
    keys = st.one_of(
        st.sampled_from([f"page_{name}", f"psize_{name}", f"_oc_{name}"]),
        st.builds(lambda i, c: f"_flt_{i}_{c}", st.integers(0, 9), st.sampled_from(columns)),
    )
    values = st.one_of(
        st.integers(-(10**25), 10**25).map(str),
        st.floats().map(str),
        st.text(max_size=8),
        st.sampled_from(["", "abc", "1.5", "-1", "0", "1", "9999-12-31", "99999-01-01", "y", "1e999",
                         "draft", *columns, *view.order_columns]),
    )

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(args=st.dictionaries(keys, values, min_size=1, max_size=4),
           direction=st.sampled_from(["asc", "desc", "sideways"]))
    def fuzz(args, direction):
        if f"_oc_{name}" in args:
            args[f"_od_{name}"] = direction
        response = browser.get(url, query_string=args)
        STATUSES.append(response.status_code)
        if response.status_code >= 500:
            failures.append(f"GET {url} {args} -> {response.status_code}")

    fuzz()
