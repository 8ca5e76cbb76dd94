"""Per-operation metadata of ``/numbers``, ``/lines/{id}`` and ``POST /calls/inbound/answer``
(``telephony.md`` §2, §3.1, §3.4, §6), merged into :data:`dialcues_rest.operations.OPERATIONS`.

Kept apart from :mod:`dialcues_rest.operations` only for size; the same rules hold (keyed by
``(method, path)`` as the route table spells them; scopes come from the use cases). Routes
whose refusals go beyond the shared descriptions (the number 409s, ``carrier_unavailable``,
``provider_not_configured``, ``call_already_answered``) describe those statuses themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from dialcues_core.numbers.model import FEATURES, NumberStatus
from dialcues_core.numbers.regions import SERVED_COUNTRIES
from dialcues_rest import wire
from dialcues_rest import wire_numbers as wn
from dialcues_rest.openapi_parts import (
    ERROR_RESPONSES,
    PAGE,
    PAGE_SIZE,
    Json,
    Operation,
    contract_error,
    query_parameter,
)
from dialcues_rest.routes import BASE, NUMBERS

LINES: Final = f"{BASE}/lines"
NUMBER: Final[Json] = {"type": "string", "pattern": wire.E164_PATTERN, "examples": ["+14155550142"]}
NUMBER_DESCRIPTION: Final = (
    "The number in E.164, with `+` as is or encoded `%2B`; any other segment, or a number the "
    "organization has no record of, is `not_found`."
)
LINE_ID: Final[Json] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 64,
    "examples": ["line_ZUPZr1xosCZflB3jSsvu"],
}
_FEATURE = "(" + "|".join(FEATURES) + ")"
_COUNTRY: Final[Json] = {"type": "string", "enum": list(SERVED_COUNTRIES)}

SEARCH_QUERY: Final = (
    {
        **query_parameter(
            "country", "ISO 3166 alpha-2 code of a country the carrier serves.", _COUNTRY
        ),
        "required": True,
    },
    query_parameter(
        "npa",
        "US and CA only: an area code of `country` (`415` is US, `416` CA; `555`, `999` and "
        "toll-free codes are refused).",
        {"type": "string", "pattern": "^[0-9]{3}$"},
    ),
    query_parameter(
        "nxx",
        "Needs `npa`: an exchange of that area code (first digit 2–9, not `N11`).",
        {"type": "string", "pattern": "^[0-9]{3}$"},
    ),
    query_parameter(
        "locality",
        "1–64 letters, spaces, `.`, `'` and `-`.",
        {"type": "string", "minLength": 1, "maxLength": 64},
    ),
    query_parameter(
        "region",
        "Case-insensitive. US: a USPS state, DC or territory code; CA: a province or territory "
        "code; elsewhere as `locality`.",
        {"type": "string", "minLength": 1},
    ),
    query_parameter(
        "rate_center",
        "US and CA only; case-insensitive: 1–32 characters of `A–Z`, `0–9` and space.",
        {"type": "string", "minLength": 1},
    ),
    query_parameter(
        "features",
        "Comma-separated, each once, of `voice`, `sms`, `mms` (default `voice`).",
        {"type": "string", "pattern": f"^{_FEATURE}(,{_FEATURE}){{0,2}}$"},
    ),
    query_parameter(
        "limit",
        "At most this many (default 20).",
        {"type": "integer", "minimum": 1, "maximum": 100},
    ),
)
NUMBER_QUERY: Final = (
    query_parameter(
        "status",
        "Only records in this status (`expired`: holds that lapsed).",
        {"type": "string", "enum": [s.value for s in NumberStatus]},
    ),
    query_parameter("country", "Only numbers of this country.", _COUNTRY),
    PAGE,
    PAGE_SIZE,
)


# ----------------------------------------------------------------------------- error replies
def _error(status: int, description: str) -> Json:
    """An error response of ``status`` in both media types; 409 and 503 may say
    ``Retry-After``."""
    headers = {"Retry-After": "Retry-After-Optional"} if status in (409, 503) else {}
    return contract_error(description, headers)


_BAD_REQUEST = ERROR_RESPONSES[400][1]
_CONFLICT = ERROR_RESPONSES[409][1]
NOT_CONFIGURED: Final = (
    f"{_BAD_REQUEST} `provider_not_configured`: an organization setting is missing "
    "(`details.setting`)."
)
CARRIER_UNAVAILABLE: Final = (
    "`carrier_unavailable`: the carrier timed out, failed, throttled us or refused our "
    "account (`details.reason`); `Retry-After` when known. `unavailable`: the database does "
    "not answer."
)
HOLD_CONFLICT: Final = (
    f"{_CONFLICT} `number_held`: another organization holds or owns the number (never named); "
    "`number_unavailable`: the carrier will not reserve it; `hold_limit_reached`: the "
    "organization has `details.limit` live holds."
)
EXTEND_CONFLICT: Final = (
    f"{_CONFLICT} `hold_expired`: the hold lapsed; `number_unavailable`: the carrier will not "
    "extend it; `hold_limit_reached`: the carrier's limit."
)


def _number(operation_id: str, summary: str, response: Any, **more: Any) -> Operation:
    return Operation(
        operation_id,
        summary,
        "numbers",
        response,
        path_id=NUMBER,
        path_description=NUMBER_DESCRIPTION,
        **more,
    )


def _line(operation_id: str, summary: str, response: Any, **more: Any) -> Operation:
    return Operation(
        operation_id,
        summary,
        "lines",
        response,
        path_id=LINE_ID,
        path_description="The line's id (`line_…`); another organization's is `not_found`.",
        **more,
    )


NUMBER_OPERATIONS: Final[Mapping[tuple[str, str], Operation]] = {
    ("GET", f"{NUMBERS}/search"): Operation(
        "searchNumbers",
        "Search the carrier's local numbers (a live sample, not paginated: ask narrower).",
        "numbers",
        wn.NumberSearchResult,
        query=SEARCH_QUERY,
        notes=(
            "Sorted by number; a number another organization holds or owns is left out. `*`, "
            "`%` or `?` in any parameter is a `validation_error`; `npa`, `nxx` and "
            "`rate_center` are for US and CA only."
        ),
        own_errors={503: _error(503, CARRIER_UNAVAILABLE)},
    ),
    ("POST", f"{NUMBERS}/hold"): Operation(
        "holdNumber",
        "Hold a number for the organization (at most 30 minutes), to assign it.",
        "numbers",
        wn.Number,
        status=201,
        other_statuses={200: "The organization holds the number already: its hold, unchanged."},
        request=wn.HoldNumber,
        notes=(
            "The number must be a valid fixed-line or mobile number of a country the carrier "
            "serves. A number the organization owns (`ordering` … `releasing`) is "
            "`invalid_state`. The carrier is asked before the answer: a refusal is 409 "
            "`number_unavailable`, a failure 503 `carrier_unavailable`, and the number stays "
            "free."
        ),
        own_errors={
            400: _error(400, NOT_CONFIGURED),
            409: _error(409, HOLD_CONFLICT),
            503: _error(503, CARRIER_UNAVAILABLE),
        },
    ),
    ("GET", NUMBERS): Operation(
        "listNumbers",
        "One page of the organization's number records, newest first.",
        "numbers",
        wn.NumberPage,
        query=NUMBER_QUERY,
    ),
    ("GET", f"{NUMBERS}/{{number}}"): _number(
        "getNumber", "The organization's latest record of a number.", wn.Number
    ),
    ("POST", f"{NUMBERS}/{{number}}/hold/extend"): _number(
        "extendHold",
        "Extend a hold once; the new expiry is the carrier's.",
        wn.Number,
        notes=(
            "A second extension, or a number not `held`, is `invalid_state`. No body, or "
            "`{}`; a field in it is a `validation_error`."
        ),
        own_errors={
            400: _error(400, NOT_CONFIGURED),
            409: _error(409, EXTEND_CONFLICT),
            503: _error(503, CARRIER_UNAVAILABLE),
        },
        errors=(413,),
    ),
    ("DELETE", f"{NUMBERS}/{{number}}/hold"): _number(
        "dropHold",
        "Drop a hold (`held` or `expired` → `released`): the number is free again.",
        None,
        status=204,
        notes="Any other status is `invalid_state`. No body, or `{}`.",
        errors=(413,),
    ),
    ("POST", f"{NUMBERS}/{{number}}/assign"): _number(
        "assignNumber",
        "Buy a held number and make it a line (`ordering`; the steps run after the answer).",
        wn.Number,
        status=202,
        request=wn.AssignNumber,
        request_required=False,
        notes=(
            "Needs the organization's `held` record (or a `failed` one after step `import`, "
            "whose import resumes); anything else is `invalid_state`. Poll "
            "`GET /numbers/{number}` or subscribe to `number.assigned` and "
            "`number.assign_failed`: once `active`, `line_id` names the new line. The body is "
            '`{"label"?, "default"?}`, or empty.'
        ),
        own_errors={
            400: _error(400, NOT_CONFIGURED),
            409: _error(409, f"{_CONFLICT} `hold_expired`: the hold lapsed; hold it again."),
        },
    ),
    ("POST", f"{NUMBERS}/{{number}}/release"): _number(
        "releaseNumber",
        "Give a number back: its line goes at once, the carrier's number after.",
        wn.Number,
        status=202,
        notes=(
            "From `active`, or `failed` after step `import` or `release`; a `releasing` number "
            "answers 202 again and starts nothing new; anything else is `invalid_state`. "
            "Reminders fixed on the line fall back to the default line. Event: "
            "`number.released`. No body, or `{}`."
        ),
        errors=(413,),
    ),
    ("GET", f"{LINES}/{{id}}"): _line("getLine", "One of the organization's lines.", wire.Line),
    ("PATCH", f"{LINES}/{{id}}"): _line(
        "updateLine",
        "Change a line's label, inbound route or default.",
        wire.Line,
        request=wn.UpdateLine,
        notes=(
            "`is_default: false` is a `validation_error`: make another line the default "
            "instead. A `transfer` route's number must not be premium-rate or a line of the "
            "organization. A change applies at once in the process that made it and within "
            "the key cache's lifetime elsewhere."
        ),
    ),
    ("POST", f"{BASE}/calls/inbound/answer"): Operation(
        "answerInboundCall",
        "Decide a ringing call on an `external` route (the inbound execution).",
        "calls",
        wire.Execution,
        request=wn.AnswerInboundCall,
        notes=(
            "Any route but `external`. An unknown call, or another organization's, is "
            "`not_found`. The first decision wins, the line's fallback at `answer_by` included."
        ),
        errors=(404,),
        own_errors={
            409: _error(
                409,
                f"{_CONFLICT} `call_already_answered`: the call no longer waits "
                "(`details.route`: the route applied).",
            )
        },
    ),
}
"""Metadata of the number, line and inbound-answer routes."""
