"""Reading a principal's executions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dialcues_core.accounts.model import Principal
from dialcues_core.calling.gate import SkipReason
from dialcues_core.calls.model import Execution, ExecutionStatus
from dialcues_core.calls.ports import ExecutionQuery, ExecutionRepository
from dialcues_core.errors import ResourceNotFound
from dialcues_core.kernel.fields import (
    MISSING,
    FieldReader,
    choice_parser,
    given,
    parse_id,
    parse_page,
    parse_positive_int,
    parse_utc_bound,
    single_values,
)
from dialcues_core.kernel.paging import Page
from dialcues_core.kernel.phone import parse_phone_number
from dialcues_core.kernel.scopes import READ_EXECUTIONS, requires

EXECUTION_QUERY = frozenset(
    {
        "status",
        "reminder_id",
        "date_from",
        "date_to",
        "skip_reason",
        "confirmation",
        "to",
        "direction",
        "page",
        "page_size",
    }
)
SKIP_REASONS = tuple(reason.value for reason in SkipReason)
"""The gate's skip reasons (a filter of the listing)."""
CONFIRMATIONS = ("confirmed", "snoozed", "opted_out", "no_input")
"""What a call's in-call actions came to (a filter of the listing)."""


class Executions:
    """Read a principal's executions."""

    def __init__(self, executions: ExecutionRepository):
        self.executions = executions

    @requires(READ_EXECUTIONS)
    def get(self, principal: Principal, execution_id: Any) -> Execution:
        """Return the principal's execution or raise ``not_found``."""
        eid = parse_id(execution_id, "execution")
        execution = self.executions.get(principal.user_id, eid, principal.organization_id)
        if execution is None:
            raise ResourceNotFound("execution", execution_id)
        return execution

    @requires(READ_EXECUTIONS)
    def list(self, principal: Principal, params: Mapping[str, Any]) -> Page[Execution]:
        """Return one page of the principal's executions, newest first."""
        reader = FieldReader(single_values(params), EXECUTION_QUERY)
        status = reader.read("status", choice_parser(s.value for s in ExecutionStatus))
        query = ExecutionQuery(
            status=ExecutionStatus(status) if status is not MISSING else None,
            reminder_id=given(reader.read("reminder_id", parse_positive_int(1, 2**63 - 1))),
            date_from=given(reader.read("date_from", parse_utc_bound)),
            date_to=given(reader.read("date_to", parse_utc_bound)),
            skip_reason=given(reader.read("skip_reason", choice_parser(SKIP_REASONS))),
            confirmation=given(reader.read("confirmation", choice_parser(CONFIRMATIONS))),
            to=given(reader.read("to", parse_phone_number)),
            direction=given(reader.read("direction", choice_parser(("outbound", "inbound")))),
            page=given(reader.read("page", parse_page)) or 1,
            page_size=given(reader.read("page_size", parse_positive_int(1, 100))) or 20,
        )
        reader.raise_if_any()
        return self.executions.list(principal.user_id, query, principal.organization_id)
