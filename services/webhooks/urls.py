"""Where webhooks may go. A subscriber chooses the URL and we call it from inside our network, so in
production it must be https to a public address — never loopback, private, link-local (cloud
metadata at 169.254.169.254) or otherwise reserved. Outside production local hosts are allowed so
developers and tests can receive webhooks on their own machine.

The address check runs at registration and again before every delivery (DNS may change after
registration); redirects are not followed, so a public host cannot bounce us inward.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from services.errors import InvalidInput

RESOLVE_TIMEOUT = 3.0
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_shape(url: str, *, production: bool) -> str:
    """The URL's host after checking its form; raises InvalidInput (field `url`)."""
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise InvalidInput("De URL mag geen spaties of stuurtekens bevatten", field="url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise InvalidInput("Alleen http- en https-URL's zijn toegestaan", field="url")
    if production and parts.scheme != "https":
        raise InvalidInput("Gebruik een https-URL: webhooks bevatten persoonsgegevens", field="url")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise InvalidInput(
            "Zet geen gebruikersnaam of wachtwoord in de URL; controleer de handtekening in plaats daarvan",
            field="url",
        )
    if parts.fragment:
        raise InvalidInput("De URL mag geen #-fragment bevatten", field="url")
    try:
        host, _ = parts.hostname, parts.port
    except ValueError:
        raise InvalidInput("De poort in de URL is ongeldig", field="url") from None
    if not host:
        raise InvalidInput("De URL mist een hostnaam", field="url")
    return host


async def check_public(host: str) -> None:
    """Every address `host` resolves to must be public; raises InvalidInput otherwise or when it does not resolve."""
    lowered = host.lower().rstrip(".")
    if lowered == "localhost" or lowered.endswith(_LOCAL_SUFFIXES):
        raise InvalidInput("Webhooks naar interne adressen zijn niet toegestaan", field="url")
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT):
            infos = await asyncio.get_running_loop().getaddrinfo(lowered, None, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError):
        raise InvalidInput(f"De host {host} kan niet worden gevonden", field="url") from None
    addresses = {str(info[4][0]) for info in infos}
    if not addresses or not all(_is_public(a) for a in addresses):
        raise InvalidInput("Webhooks naar interne of gereserveerde adressen zijn niet toegestaan", field="url")


async def validate(url: str, *, production: bool) -> str:
    """Check a subscription URL; returns it unchanged. Raises InvalidInput (field `url`)."""
    host = check_shape(url, production=production)
    if production:
        await check_public(host)
    return url
