"""Property-based run of schemathesis against the live OpenAPI document: generated requests (valid
and invalid) to every operation, with the API key, must never get a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.api.conftest import API_KEY


@pytest.fixture(scope="module")
def api_schema(locked_server):
    # With the key needed everywhere, the schema itself needs it too.
    return schemathesis.openapi.from_url(locked_server.url + "/openapi.json", headers={"X-API-Key": API_KEY})


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    case.call_and_validate(headers={"X-API-Key": API_KEY}, checks=[not_a_server_error], timeout=30)
