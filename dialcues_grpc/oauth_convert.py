"""Protobuf messages of ``OAuthClientService`` meet the core's OAuth objects here, and only here.

The OAuth part of :mod:`dialcues_grpc.convert` (kept apart so that module stays readable):
requests become the core's ``create_client`` arguments; clients become messages that never
carry the secret's hash — the secret itself appears once, in ``CreateOAuthClientResponse``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dialcues_core.accounts.oauth import IssuedClient, OAuthClient
from dialcues_grpc._pb.dialcues.v1 import oauth_clients_pb2
from dialcues_grpc.convert import _timestamp


def new_client(request: oauth_clients_pb2.CreateOAuthClientRequest) -> dict[str, Any]:
    """Return the core's ``create_client`` arguments (empty scopes → all of them)."""
    return {
        "user_id": request.user_id,
        "name": request.name if request.HasField("name") else None,
        "scopes": list(request.scopes) or None,
    }


def client(found: OAuthClient) -> oauth_clients_pb2.OAuthClient:
    """Return a stored client: never its secret or the secret's hash."""
    return oauth_clients_pb2.OAuthClient(
        client_id=found.id,
        user_id=found.user_id,
        organization_id=found.organization_id,
        name=found.name,
        scopes=found.scopes,
        created_at=_timestamp(found.created_at),
        revoked_at=_timestamp(found.revoked_at),
    )


def issued_client(issued: IssuedClient) -> oauth_clients_pb2.CreateOAuthClientResponse:
    """Return a client just created, with its secret (the only time it is ever shown)."""
    return oauth_clients_pb2.CreateOAuthClientResponse(
        client=client(issued.client), client_secret=issued.client_secret
    )


def clients(found: Iterable[OAuthClient]) -> oauth_clients_pb2.ListOAuthClientsResponse:
    """Return a user's clients."""
    return oauth_clients_pb2.ListOAuthClientsResponse(items=[client(c) for c in found])
