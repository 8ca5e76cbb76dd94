"""Webhook URL rules and SSRF protection: what a subscription may point at.

Unless the operator allows private targets (``DIALCUES_WEBHOOKS_ALLOW_PRIVATE=1``, for tests
and the demo), a URL must be ``https`` and every address its host resolves to must be
public: not private, loopback, link-local, multicast, reserved or unspecified (IPv4-mapped
IPv6 addresses are judged as the IPv4 address they carry). The check runs when a
subscription is created or changed, and again at every delivery (a name may be rebound to
an inner address after it was accepted: DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048

Resolver = Callable[[str, int], list[str]]
"""``(host, port) → addresses``; raises ``OSError`` when the name does not resolve."""


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
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
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
