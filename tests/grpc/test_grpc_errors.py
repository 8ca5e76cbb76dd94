"""The gRPC error table maps every core error; unexpected failures stay opaque."""

from __future__ import annotations

import logging
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from dialcues_core import errors as core
from dialcues_grpc import errors

EXPECTED: dict[str, grpc.StatusCode] = {
    "validation_error": grpc.StatusCode.INVALID_ARGUMENT,
    "missing_outbound_line": grpc.StatusCode.FAILED_PRECONDITION,
    "invalid_state": grpc.StatusCode.FAILED_PRECONDITION,
    "outside_calling_window": grpc.StatusCode.FAILED_PRECONDITION,
    "frequency_cap_reached": grpc.StatusCode.FAILED_PRECONDITION,
    "recipient_suppressed": grpc.StatusCode.FAILED_PRECONDITION,
    "consent_required": grpc.StatusCode.FAILED_PRECONDITION,
    "caller_identity_required": grpc.StatusCode.FAILED_PRECONDITION,
    "campaign_not_registered": grpc.StatusCode.FAILED_PRECONDITION,
    "unauthorized": grpc.StatusCode.UNAUTHENTICATED,
    "invalid_api_key": grpc.StatusCode.UNAUTHENTICATED,
    "api_key_revoked": grpc.StatusCode.UNAUTHENTICATED,
    "api_key_expired": grpc.StatusCode.UNAUTHENTICATED,
    "invalid_provider_event": grpc.StatusCode.UNAUTHENTICATED,
    "insufficient_scope": grpc.StatusCode.PERMISSION_DENIED,
    "not_found": grpc.StatusCode.NOT_FOUND,
    "already_exists": grpc.StatusCode.ALREADY_EXISTS,
    "rate_limited": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "unavailable": grpc.StatusCode.UNAVAILABLE,
    "token_expired": grpc.StatusCode.UNAUTHENTICATED,
    "invalid_client": grpc.StatusCode.UNAUTHENTICATED,
    "invalid_scope": grpc.StatusCode.INVALID_ARGUMENT,
    "idempotency_mismatch": grpc.StatusCode.ALREADY_EXISTS,
    "idempotency_in_progress": grpc.StatusCode.ABORTED,
    "smoke_failed": grpc.StatusCode.UNAVAILABLE,
    "number_held": grpc.StatusCode.ALREADY_EXISTS,
    "number_unavailable": grpc.StatusCode.FAILED_PRECONDITION,
    "hold_expired": grpc.StatusCode.FAILED_PRECONDITION,
    "hold_limit_reached": grpc.StatusCode.FAILED_PRECONDITION,
    "call_already_answered": grpc.StatusCode.FAILED_PRECONDITION,
    "provider_not_configured": grpc.StatusCode.FAILED_PRECONDITION,
    "carrier_unavailable": grpc.StatusCode.UNAVAILABLE,
}
"""The contract's codes and the status each leaves with (``telephony.md`` §6.2 included)."""


def concrete(cls: type[core.DialcuesError]) -> bool:
    """Tell whether ``cls`` carries a code of its own (categories inherit the base's)."""
    return "code" in vars(cls)


def test_every_core_error_class_maps_to_a_status() -> None:
    for cls in core.all_error_classes():
        code = errors.status_code_of(cls)
        assert isinstance(code, grpc.StatusCode), cls
        is_internal = issubclass(cls, core.ProviderError | core.CarrierError)
        if cls is not core.DialcuesError and not is_internal:
            assert code is not grpc.StatusCode.INTERNAL, cls


def test_client_facing_codes_map_as_the_contract_says_and_are_unique() -> None:
    classes = [c for c in core.all_error_classes() if concrete(c)]
    client_facing = [
        c for c in classes if not issubclass(c, core.ProviderError | core.CarrierError)
    ]
    codes = [c.code for c in client_facing if c is not core.DialcuesError]
    assert len(codes) == len(set(codes))
    assert {c: errors.status_code_of(_by_code(c)) for c in codes} == EXPECTED


def _by_code(code: str) -> type[core.DialcuesError]:
    return next(c for c in core.all_error_classes() if vars(c).get("code") == code)


def _details(status: grpc.Status) -> status_pb2.Status:
    (key, value), *_ = status.trailing_metadata
    assert key == "grpc-status-details-bin"
    return status_pb2.Status.FromString(value)


def test_a_validation_error_carries_error_info_and_field_violations() -> None:
    exc = core.ValidationFailed({"recurrence_config": "bad", "title": "is required"})
    proto = _details(errors.rich_status(exc))
    info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
    assert proto.details[0].Unpack(info) and proto.details[1].Unpack(bad)
    assert (info.reason, info.domain) == ("validation_error", "dialcues")
    assert [(v.field, v.description) for v in bad.field_violations] == [
        ("recurrence", "bad"),
        ("title", "is required"),
    ]


def test_rate_limited_carries_retry_info() -> None:
    proto = _details(errors.rich_status(core.RateLimited(3)))
    retry = error_details_pb2.RetryInfo()
    assert proto.details[1].Unpack(retry)
    assert retry.retry_delay.seconds == 3


class FakeContext:
    """The part of grpc.aio.ServicerContext the error decorator uses."""

    def __init__(self) -> None:
        self.status: grpc.Status | None = None

    def trailing_metadata(self) -> tuple[tuple[str, str], ...]:
        """No trailing metadata was set before the failure."""
        return ()

    async def abort_with_status(self, status: grpc.Status) -> None:
        """Record the status and end the handler as grpc.aio does."""
        self.status = status
        raise grpc.aio.AbortError()


class Failing:
    """A servicer whose method raises what it is given."""

    def __init__(self, exc: BaseException):
        self.exc = exc

    @errors.translated
    async def Call(self, request: Any, context: Any) -> Any:  # noqa: N802
        """Raise the error."""
        raise self.exc


@pytest.mark.parametrize(
    "exc", [RuntimeError("secret detail"), core.ProviderRejected("vendor said no")]
)
async def test_unexpected_errors_are_internal_and_opaque(
    exc: BaseException, caplog: pytest.LogCaptureFixture
) -> None:
    context = FakeContext()
    with caplog.at_level(logging.ERROR, "dialcues.grpc"), pytest.raises(grpc.aio.AbortError):
        await Failing(exc).Call(None, context)
    assert context.status is not None
    assert context.status.code is grpc.StatusCode.INTERNAL
    proto = _details(context.status)
    info = error_details_pb2.ErrorInfo()
    assert proto.details[0].Unpack(info) and info.reason == "internal_error"
    assert str(exc) not in proto.SerializeToString().decode("utf-8", "replace")
    assert caplog.records and caplog.records[0].exc_info is not None


def test_rich_status_round_trips_through_grpc_status() -> None:
    status = errors.rich_status(core.ResourceNotFound("reminder", 7))
    proto = _details(status)
    assert rpc_status.to_status(proto).code is grpc.StatusCode.NOT_FOUND
    assert proto.message == "No reminder 7 was found."


def _info(exc: core.DialcuesError) -> error_details_pb2.ErrorInfo:
    info = error_details_pb2.ErrorInfo()
    assert _details(errors.rich_status(exc)).details[0].Unpack(info)
    return info


def test_recipient_suppressed_carries_the_number_reason_and_time() -> None:
    info = _info(core.RecipientSuppressed("+14155550009", "opt_out_keypress", "2026-03-25T13Z"))
    assert (info.reason, dict(info.metadata)) == (
        "recipient_suppressed",
        {
            "phone_number": "+14155550009",
            "reason": "opt_out_keypress",
            "suppressed_at": "2026-03-25T13Z",
        },
    )


def test_consent_required_carries_what_is_needed_and_leaves_nulls_out() -> None:
    needed = _info(core.ConsentRequired("express_written", "marketing"))
    assert dict(needed.metadata) == {"required": "express_written", "purpose": "marketing"}
    removal = _info(core.ConsentRequired(None, None, "Needs consent.", {"consent_id": None}))
    assert (removal.reason, dict(removal.metadata)) == ("consent_required", {})


def test_caller_identity_required_names_what_is_missing_comma_joined() -> None:
    info = _info(core.CallerIdentityRequired(["caller_name", "callback_number"]))
    assert dict(info.metadata) == {"missing": "caller_name,callback_number"}
