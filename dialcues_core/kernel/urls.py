"""Webhook URL rules and SSRF protection: what a subscription may point at.

Unless the operator allows private targets (``DIALCUES_WEBHOOKS_ALLOW_PRIVATE=1``, for tests
and the demo), a URL must be ``https`` and every address its host resolves to must be
public: not private, loopback, link-local, multicast, reserved or unspecified (IPv4-mapped
IPv6 addresses are judged as the IPv4 address they carry; 6to4 ``2002::/16``, Teredo
``2001::/32`` and NAT64 ``64:ff9b::/96`` addresses must be public and carry public IPv4
addresses too, as a relay would deliver to those). The check runs when a
subscription is created or changed, and again at every delivery (a name may be rebound to
an inner address after it was accepted: DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048

Resolver = Callable[[str, int], list[str]]
"""``(host, port) → addresses``; raises ``OSError`` when the name does not resolve."""

NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")
"""The well-known NAT64 prefix (RFC 6052): the last 32 bits are an IPv4 address."""


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the system resolver (``socket.getaddrinfo``)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def is_public_address(text: str) -> bool:
    """Tell whether an IP address (text; a ``%zone`` suffix allowed) is a public one."""
    try:
        ip: Any = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    return all(_is_public(judged) for judged in judged_addresses(ip))


def judged_addresses(ip: Any) -> list[Any]:
    """Return the addresses to judge for ``ip``: itself and any IPv4 address it carries.

    An IPv4-mapped address is judged as its IPv4 address alone (``::ffff:0:0/96`` is private
    itself); a 6to4, Teredo (server and client) or NAT64 one as itself and what it carries.
    """
    if not isinstance(ip, ipaddress.IPv6Address):
        return [ip]
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    found: list[Any] = [ip]
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if ip in NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def _is_public(ip: Any) -> bool:
    return bool(
        ip.is_global
        and not (
            ip.is_private
            or ip.is_loopback
            or ip.is_link_local
            or ip.is_multicast
            or ip.is_reserved
            or ip.is_unspecified
        )
    )


def parse_webhook_url(value: Any, allow_private: bool, resolve: Resolver) -> str:
    """Return the URL if a subscription may use it; else raise ``ValueError`` saying why.

    Without ``allow_private``: ``https`` only, and the host must resolve, to public
    addresses only. Credentials in the URL and fragments are refused either way.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be an absolute https URL")
    url = value.strip()
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"must be at most {MAX_URL_LENGTH} characters long")
    if not url.isascii() or any(ch <= " " or ch == "\x7f" for ch in url):
        raise ValueError(
            "must be ASCII without spaces or control characters (IDNA-encode the host)"
        )
    parts = _split(url)
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise ValueError("must use https" if not allow_private else "must use http or https")
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise ValueError("must not carry credentials or a fragment")
    if not allow_private:
        check_host(parts.hostname or "", _port(parts), resolve)
    return url


def check_host(host: str, port: int, resolve: Resolver) -> None:
    """Raise ``ValueError`` unless ``host`` is (or resolves only to) public addresses."""
    try:
        ipaddress.ip_address(host)
        addresses = [host]
    except ValueError:
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError):
            raise ValueError("names a host that does not resolve") from None
    if not addresses or not all(is_public_address(a) for a in addresses):
        raise ValueError("must not point at a private, loopback or link-local address")


def _split(url: str) -> Any:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        raise ValueError("must be an absolute https URL") from None
    if not parts.hostname:
        raise ValueError("must be an absolute https URL")
    return parts


def _port(parts: Any) -> int:
    return int(parts.port or (443 if parts.scheme == "https" else 80))


def host_and_port(url: str) -> tuple[str, int]:
    """Return the host and port a stored URL connects to."""
    parts = urlsplit(url)
    return parts.hostname or "", _port(parts)
