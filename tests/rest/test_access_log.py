"""The access log: one info line per request with method, path, status and duration."""

from __future__ import annotations

import logging
import re

import pytest

from rest.support import Api


async def test_each_request_logs_method_path_status_and_milliseconds(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="dialcues.rest.access"):
        await api.get("/me")
    lines = [r.getMessage() for r in caplog.records if r.name == "dialcues.rest.access"]
    assert len(lines) == 1
    assert re.fullmatch(r"GET /api/public/v1/me 200 \d+\.\dms", lines[0])


async def test_error_responses_are_logged_with_their_status(
    anon: Api, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="dialcues.rest.access"):
        await anon.get("/me")
    lines = [r.getMessage() for r in caplog.records if r.name == "dialcues.rest.access"]
    assert lines[0].startswith("GET /api/public/v1/me 401 ")
