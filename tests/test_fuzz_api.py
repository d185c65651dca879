"""Fuzzing the JSON API from its own OpenAPI document (schemathesis), within a fixed budget:
every operation, generated requests with a valid key, no 5xx, and no answer that contradicts the
document (its body schema, its content type)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)

from tests.factories import Flow, api_key, auth, photo

DOCUMENT = json.loads((Path(__file__).parents[1] / "schemas" / "openapi.json").read_text())
OPERATIONS = [
    (path, method.upper())
    for path, item in DOCUMENT["paths"].items()
    for method in item
    if method in {"get", "post", "put", "patch", "delete"}
]
# Requests per operation: with every operation of the document, well over 1,000 in all.
EXAMPLES = 100
sent: list[str] = []


@pytest.mark.slow
@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_generated_requests_get_no_5xx_and_answers_that_follow_the_document(
    app: Flask, path: str, method: str
) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operation = schema[path][method]
    key = api_key(("verify", "consents:write"))
    headers = auth(key)
    # Real records, so that half the generated requests reach past "not found" into the views.
    flow = Flow(app.test_client(), key)
    given_consent = flow.consent(photo(1), {"teaching": True, "public_social_network": False})
    patient = flow.patient()
    media = flow.media(patient, photo(2))
    real = {
        "consent_id": given_consent["consent_id"],
        "request_id": flow.request(
            patient, [media["id"]], [{"purpose": "teaching", "channels": []}]
        ),
        "index": 0,
    }

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def exchange(case: Any) -> None:
        if case.path_parameters and len(sent) % 2:
            for name in case.path_parameters:
                if name in real:
                    case.path_parameters[name] = real[name]
        response = case.call(headers=headers)
        sent.append(f"{method} {path} {response.status_code}")
        case.validate_response(
            response,
            checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
        )

    exchange()


def test_the_fuzzing_budget_was_spent() -> None:
    if len(sent) == 0:
        pytest.fail("run with the fuzzing tests (they come first in this module)")
    assert len(sent) >= 1000, len(sent)
    import collections

    print(collections.Counter(line.rsplit(" ", 1)[1] for line in sent))
    print(collections.Counter(line for line in sent).most_common(60))
