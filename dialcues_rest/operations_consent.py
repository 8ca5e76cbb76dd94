"""Per-operation metadata of ``/suppressions`` and ``/consents`` (``responsible-calling.md``
§7–8), merged into :data:`dialcues_rest.operations.OPERATIONS`.

Kept apart from :mod:`dialcues_rest.operations` only for size; the same rules hold (keyed by
``(method, path)`` as the route table spells them; scopes come from the use cases).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from dialcues_core.consent.fields import SUPPRESSION_STATUSES
from dialcues_core.consent.model import CONSENT_PURPOSES, CONSENT_TYPES, SUPPRESSION_REASONS
from dialcues_rest import wire
from dialcues_rest import wire_consent as wn
from dialcues_rest.openapi_parts import (
    PAGE,
    PAGE_SIZE,
    Json,
    Operation,
    date_bound,
    query_parameter,
)
from dialcues_rest.routes import CONSENTS, SUPPRESSIONS

NUMBER: Final[Json] = {"type": "string", "pattern": wire.E164_PATTERN}
NUMBER_DESCRIPTION: Final = (
    "The number in E.164, with `+` as is or encoded `%2B`; any other segment, or a number "
    "without an active entry, is `not_found`."
)
CONSENT_ID: Final[Json] = {"type": "string", "minLength": 1, "maxLength": 64}
PHONE_NUMBER: Final = query_parameter(
    "phone_number",
    "Only this number (E.164; encode `+` as `%2B`).",
    {"type": "string", "pattern": wire.E164_PATTERN},
)

SUPPRESSION_QUERY: Final = (
    query_parameter(
        "status",
        "`active` (default), `removed` or `all`.",
        {"type": "string", "enum": list(SUPPRESSION_STATUSES)},
    ),
    query_parameter(
        "reason",
        "Only entries with this reason.",
        {"type": "string", "enum": list(SUPPRESSION_REASONS)},
    ),
    PHONE_NUMBER,
    date_bound("date_from", "created_at", inclusive=True),
    date_bound("date_to", "created_at", inclusive=False),
    PAGE,
    PAGE_SIZE,
)
CONSENT_QUERY: Final = (
    PHONE_NUMBER,
    query_parameter("type", "Only this type.", {"type": "string", "enum": list(CONSENT_TYPES)}),
    query_parameter(
        "purpose", "Only this purpose.", {"type": "string", "enum": list(CONSENT_PURPOSES)}
    ),
    query_parameter(
        "active",
        "`true`: only records not revoked; `false`: only revoked ones.",
        {"type": "string", "enum": ["true", "false"]},
    ),
    date_bound("date_from", "captured_at", inclusive=True),
    date_bound("date_to", "captured_at", inclusive=False),
    PAGE,
    PAGE_SIZE,
)


def _number(operation_id: str, summary: str, response: Any, **more: Any) -> Operation:
    return Operation(
        operation_id,
        summary,
        "suppressions",
        response,
        path_id=NUMBER,
        path_description=NUMBER_DESCRIPTION,
        **more,
    )


def _consent(operation_id: str, summary: str, response: Any, **more: Any) -> Operation:
    return Operation(operation_id, summary, "consents", response, path_id=CONSENT_ID, **more)


CONSENT_OPERATIONS: Final[Mapping[tuple[str, str], Operation]] = {
    ("GET", SUPPRESSIONS): Operation(
        "listSuppressions",
        "One page of the organization's suppression list, newest first.",
        "suppressions",
        wn.SuppressionPage,
        query=SUPPRESSION_QUERY,
        notes="Removed entries stay listed (`status=removed` or `all`); none is ever deleted.",
    ),
    ("POST", SUPPRESSIONS): Operation(
        "addSuppression",
        "Put a number on the suppression list: no reminder or call of the organization dials it.",
        "suppressions",
        wn.SuppressionEntry,
        status=201,
        other_statuses={200: "The number already has an active entry: that entry, unchanged."},
        request=wn.AddSuppression,
        notes=(
            "`reason` defaults to `api`. In the same transaction every active consent for the "
            "number is revoked with the entry's reason and source. Once this answers, no "
            "attempt to the number starts; reminders to it are skipped `suppressed` at their "
            "next attempt and become `suppressed`."
        ),
    ),
    ("GET", f"{SUPPRESSIONS}/{{number}}"): _number(
        "getSuppression", "The number's active entry.", wn.SuppressionEntry
    ),
    ("DELETE", f"{SUPPRESSIONS}/{{number}}"): _number(
        "removeSuppression",
        "Take a number off the suppression list, with the person's newer consent.",
        None,
        status=204,
        query=(
            query_parameter(
                "consent_id",
                "An active consent for the number captured after the entry was created.",
                CONSENT_ID,
            ),
        ),
        notes=(
            "Without `consent_id`, or with one that is not an active consent for the number "
            "captured after the entry, 422 `consent_required`. The entry stays listed, "
            "`removed` (audited); reminders already `suppressed` stay so until their owners "
            "resume them. No body, or `{}`."
        ),
        errors=(413, 422),
    ),
    ("POST", CONSENTS): Operation(
        "createConsent",
        "Record that a person agreed to be called.",
        "consents",
        wn.ConsentRecord,
        status=201,
        request=wn.CreateConsent,
        notes=(
            "Every bad field is named at once (`validation_error`): `captured_at` at most 5 "
            "minutes in the future, `evidence` with only `url`, `ip` and `user_agent`. Records "
            "are evidence: there is no delete."
        ),
    ),
    ("GET", CONSENTS): Operation(
        "listConsents",
        "One page of the organization's consent records, newest first.",
        "consents",
        wn.ConsentPage,
        query=CONSENT_QUERY,
    ),
    ("GET", f"{CONSENTS}/{{id}}"): _consent("getConsent", "One consent record.", wn.ConsentRecord),
    ("POST", f"{CONSENTS}/{{id}}/revoke"): _consent(
        "revokeConsent",
        "Revoke a consent: an opt-out.",
        wn.ConsentRecord,
        request=wn.RevokeConsent,
        request_required=False,
        notes=(
            "In the same transaction the number gets a suppression entry (reason `api`) unless "
            'one is active. A revoked consent answers 200, unchanged. The body is `{"note"?}`, '
            "or empty."
        ),
    ),
}
"""Metadata of the suppression and consent routes."""
