"""Protobuf ↔ core for ``CallService`` and ``AgentService`` (the pattern of ``convert.py``).

A ``PlaceCallRequest`` becomes the core's ``POST /calls`` payload with only the fields it
sets, so that an unset ``to`` is "is required" exactly as over REST; its ``calling_window``
is REST's shape (:func:`dialcues_grpc.policy_convert.window_in`). An
``AnswerInboundCallRequest`` becomes REST's ``POST /calls/inbound/answer`` body the same way,
its route REST's object (:func:`dialcues_grpc.convert.route_in`).
"""

from __future__ import annotations

from typing import Any, Final

from dialcues_core.platform.smoke import SmokeStep
from dialcues_grpc import convert, policy_convert
from dialcues_grpc._pb.dialcues.v1 import calls_pb2

Payload = dict[str, Any]

_CALL_FIELDS: Final = ("to", "message", "title", "vapi_line_id", "purpose", "timezone")


def place_call(request: calls_pb2.PlaceCallRequest) -> Payload:
    """Return the core's place-call payload: only the fields the request sets."""
    payload = {name: getattr(request, name) for name in _CALL_FIELDS if request.HasField(name)}
    if request.HasField("calling_window"):
        payload["calling_window"] = policy_convert.window_in(request.calling_window)
    return payload


def answer_inbound_call(request: calls_pb2.AnswerInboundCallRequest) -> Payload:
    """Return REST's ``POST /calls/inbound/answer`` body: the call named (``call_id`` or
    ``execution_id``, whichever the oneof sets) and the route, each only when set."""
    payload: Payload = {}
    which = request.WhichOneof("call")
    if which is not None:
        payload[which] = getattr(request, which)
    if request.HasField("route"):
        payload["route"] = convert.route_in(request.route)
    return payload


def smoke(steps: list[SmokeStep]) -> calls_pb2.SmokeResponse:
    """Return a passed smoke run: status ``ok`` and every step."""
    return calls_pb2.SmokeResponse(
        status="ok",
        steps=[
            calls_pb2.SmokeStep(
                name=s.name, duration_ms=s.duration_ms, result=s.result, detail=s.detail
            )
            for s in steps
        ],
    )
