"""Where webhooks may go. A subscriber chooses the URL and we call it from inside our network, so it must be a
public address — never loopback, private, link-local (cloud metadata at 169.254.169.254), reserved, or an IPv6
form that carries such an IPv4 address inside it (NAT64, 6to4, Teredo, IPv4-mapped and -compatible). That holds
in every environment; only `LEERKRING_WEBHOOK_ALLOW_PRIVATE=1` outside production lets a developer receive
webhooks on their own machine. Production also wants https.

The address check runs at registration and again at every delivery, on the very address the connection is made
to (services/webhooks/transport.py), so DNS that changes between the check and the connect cannot point us
inward; redirects are not followed, so a public host cannot bounce us inward either.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from services.errors import InvalidInput

RESOLVE_TIMEOUT = 3.0
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


# IPv6 ranges that carry or translate an IPv4 address, or are special-purpose although Python calls them global.
_NOT_PUBLIC_V6 = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/96",  # IPv4-compatible (deprecated)
        "::ffff:0:0/96",  # IPv4-mapped
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
        "64:ff9b::/96",  # NAT64 well-known prefix
        "64:ff9b:1::/48",  # NAT64 local use
        "100::/64",  # discard
        "2001::/32",  # Teredo
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4
        "fec0::/10",  # site-local (deprecated)
    )
)


def is_public(address: str) -> bool:
    """True for a globally reachable unicast address; everything special-purpose is refused."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.is_multicast or not ip.is_global:
        return False
    return not (isinstance(ip, ipaddress.IPv6Address) and any(ip in net for net in _NOT_PUBLIC_V6))


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


async def public_addresses(host: str) -> list[str]:
    """The addresses `host` resolves to, all of them public; raises InvalidInput otherwise or when it does not
    resolve."""
    lowered = host.lower().rstrip(".")
    if lowered == "localhost" or lowered.endswith(_LOCAL_SUFFIXES):
        raise InvalidInput("Webhooks naar interne adressen zijn niet toegestaan", field="url")
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT):
            infos = await asyncio.get_running_loop().getaddrinfo(lowered, None, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError):
        raise InvalidInput(f"De host {host} kan niet worden gevonden", field="url") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses or not all(is_public(a) for a in addresses):
        raise InvalidInput("Webhooks naar interne of gereserveerde adressen zijn niet toegestaan", field="url")
    return addresses


async def validate(url: str, *, production: bool, allow_private: bool) -> str:
    """Check a subscription URL; returns it unchanged. Raises InvalidInput (field `url`)."""
    host = check_shape(url, production=production)
    if not allow_private:
        await public_addresses(host)
    return url
