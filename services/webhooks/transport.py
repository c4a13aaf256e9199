"""The HTTP transport for webhook deliveries: it connects only to the address it has just checked.

Checking a host's addresses and then letting the HTTP client resolve it again leaves a window in which DNS can
change (rebinding): the check sees a public address, the connection goes to 127.0.0.1. Here the check and the
connect are one step: the network backend resolves the host, refuses unless every address is public
(services/webhooks/urls.py), and connects to one of those addresses. TLS still verifies the certificate against
the host name, which httpcore passes separately as the server name.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpcore
import httpx

from services.errors import InvalidInput
from services.webhooks import urls


class CheckedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await urls.public_addresses(host)
        except InvalidInput as exc:
            raise httpcore.ConnectError(exc.detail) from None
        return await self._inner.connect_tcp(addresses[0], port, timeout, local_address, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def webhook_transport(limits: httpx.Limits, *, allow_private: bool) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose connections pass the public-address check, unless private ones are allowed."""
    transport = httpx.AsyncHTTPTransport(limits=limits)
    if not allow_private:
        # httpx takes no network backend, but its pool is a plain httpcore pool that does: the same pool, with ours.
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=CheckedBackend(),
        )
    return transport
