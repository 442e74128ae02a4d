"""Property-based fuzz of the OpenAPI document as every role: no request answers 5xx.

Schemathesis generates valid and invalid requests for every operation the document lists
(paths, query ``q`` rison, bodies, ids), sent with each role's token. ``JIXIAO_FUZZ_EXAMPLES``
sets examples per operation and role (default 8; raise it for a longer run).
"""

import collections
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
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
