"""``dialcues.v1.OAuthClientService``: the administration of OAuth clients.

Like every administration service it needs the admin token and is registered only when one
is configured. Access tokens themselves are issued by REST ``POST /api/oauth/token`` and are
accepted by every public service through the core's authenticator, as API keys are.
"""

from __future__ import annotations

from dialcues_grpc import oauth_convert
from dialcues_grpc._pb.dialcues.v1 import oauth_clients_pb2, oauth_clients_pb2_grpc
from dialcues_grpc.errors import translated
from dialcues_grpc.servicers import Context, _AdminServicer


class OAuthClientServicer(_AdminServicer, oauth_clients_pb2_grpc.OAuthClientServiceServicer):
    """``dialcues.v1.OAuthClientService``: create (secret once), list, revoke."""

    @translated
    async def CreateOAuthClient(  # noqa: N802
        self, request: oauth_clients_pb2.CreateOAuthClientRequest, context: Context
    ) -> oauth_clients_pb2.CreateOAuthClientResponse:
        """Create a client; its secret is in this response only."""
        issued = await self.run(self.dc.oauth.create_client, **oauth_convert.new_client(request))
        return oauth_convert.issued_client(issued)

    @translated
    async def ListOAuthClients(  # noqa: N802
        self, request: oauth_clients_pb2.ListOAuthClientsRequest, context: Context
    ) -> oauth_clients_pb2.ListOAuthClientsResponse:
        """Return a user's clients."""
        found = await self.run(self.dc.oauth.list_clients, request.user_id)
        return oauth_convert.clients(found)

    @translated
    async def RevokeOAuthClient(  # noqa: N802
        self, request: oauth_clients_pb2.RevokeOAuthClientRequest, context: Context
    ) -> oauth_clients_pb2.OAuthClient:
        """Revoke a client and, with it, every token it obtained."""
        revoked = await self.run(self.dc.oauth.revoke_client, request.client_id)
        return oauth_convert.client(revoked)
