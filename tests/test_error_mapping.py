"""Every core error is mapped by both edges, and every concrete error has its own code."""

from __future__ import annotations

import grpc
import pytest

from dialcues_core import errors
from dialcues_grpc.errors import GONE_CODE, gone_status, status_code_of
from dialcues_rest.errors import CODE_BY_HTTP_STATUS, status_of

CATEGORIES = {
    errors.DialcuesError,
    errors.InvalidArgument,
    errors.Unauthenticated,
    errors.PermissionDenied,
    errors.NotFound,
    errors.FailedPrecondition,
    errors.Conflict,
    errors.ResourceExhausted,
    errors.Unavailable,
    errors.NumberRefusal,  # a family of 409 refusals (telephony.md §6.2)
    errors.CarrierError,  # the carriers' family; never a client's error
}
CONCRETE = [c for c in errors.all_error_classes() if c not in CATEGORIES]
NEVER_A_CLIENTS = (errors.ProviderError, errors.CarrierError)
CLIENT_FACING = [c for c in CONCRETE if not issubclass(c, NEVER_A_CLIENTS)]


def test_concrete_errors_have_unique_codes() -> None:
    codes = [c.code for c in CONCRETE]
    assert len(codes) == len(set(codes))


@pytest.mark.parametrize("error_class", CLIENT_FACING, ids=lambda c: c.__name__)
def test_rest_maps_every_client_facing_error_to_an_error_status(error_class: type) -> None:
    status = status_of(error_class)
    assert status is not None and 400 <= status < 600


@pytest.mark.parametrize("error_class", CLIENT_FACING, ids=lambda c: c.__name__)
def test_grpc_maps_every_client_facing_error_to_a_specific_status(error_class: type) -> None:
    assert status_code_of(error_class) not in (
        grpc.StatusCode.OK,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.INTERNAL,
    )


@pytest.mark.parametrize("error_class", CLIENT_FACING, ids=lambda c: c.__name__)
def test_both_edges_agree_on_the_kind_of_failure(error_class: type) -> None:
    http = status_of(error_class)
    code = status_code_of(error_class)
    expected = {
        400: {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION},
        401: {grpc.StatusCode.UNAUTHENTICATED},
        403: {grpc.StatusCode.PERMISSION_DENIED},
        404: {grpc.StatusCode.NOT_FOUND},
        # a number's state refuses (telephony.md §6.2: 409 with FAILED_PRECONDITION)
        409: {
            grpc.StatusCode.ALREADY_EXISTS,
            grpc.StatusCode.ABORTED,
            grpc.StatusCode.FAILED_PRECONDITION,
        },
        422: {grpc.StatusCode.FAILED_PRECONDITION},  # a policy refusal (responsible-calling.md)
        429: {grpc.StatusCode.RESOURCE_EXHAUSTED},
        503: {grpc.StatusCode.UNAVAILABLE},
    }
    assert http is not None
    assert code in expected[http]


def test_provider_errors_never_reach_a_client_as_themselves() -> None:
    provider_errors = [c for c in errors.all_error_classes() if issubclass(c, NEVER_A_CLIENTS)]
    assert provider_errors
    assert {status_code_of(c) for c in provider_errors} == {grpc.StatusCode.INTERNAL}


def test_gone_lives_in_the_edges_only() -> None:
    # telephony.md §6.2: past its sunset; no core error, one entry in each edge's own table.
    assert "gone" not in {getattr(c, "code", None) for c in errors.all_error_classes()}
    assert CODE_BY_HTTP_STATUS[410] == "gone"
    status = gone_status("old-route")
    assert status.code is grpc.StatusCode.UNIMPLEMENTED
    assert GONE_CODE == "gone"
