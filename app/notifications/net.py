"""Outgoing HTTP for webhooks, with the SSRF guard where it cannot be talked around.

Rule: unless WEBHOOK_ALLOW_PRIVATE_NETWORKS is on, a webhook never connects to a loopback,
private, link-local, multicast, unspecified, reserved or otherwise non-global address, nor to
an IPv6 address that embeds such an IPv4 address (IPv4-mapped, IPv4-compatible, 6to4, NAT64,
Teredo). The check runs on each address DNS returned, immediately before connecting to that
very address: a name that resolves to 127.0.0.1, or that resolves differently a second later
(DNS rebinding), is refused just the same, and TLS still verifies the certificate against the
host name in the URL. Before any of that, the host written in the URL is read the way the
resolver will read it (`literal_address`): IPv4 in every form `inet_aton` takes (`127.1`,
`0x7f000001`, `2130706433`, `0177.0.0.1`, `0`), full-width digits and IDNA full stops
(`127。0。0。1`), a trailing dot, and `localhost`/`*.localhost` (loopback by RFC 6761). The
portal's URL check and the connect-time guard both call `host_refusal`, so the two cannot
disagree about a spelling. Proxies from the environment are ignored (a proxy would make the peer
address meaningless) and redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import socket
import unicodedata
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class RefusedAddress(OSError):
    """The receiver's address is one webhooks may not reach."""


def refusal_reason(address: str | IPAddress) -> str | None:
    """Why webhooks may not connect to `address`, or None when they may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0]) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            reason = refusal_reason(embedded)
            if reason is not None:
                return f"{reason} (embedded in {ip})"
            if ip.teredo is None:
                # Mapped, compatible, NAT64 and 6to4 addresses lead to the IPv4 host itself, which
                # was just found acceptable (their prefixes count as reserved on their own).
                return None
    for attribute, label in (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private address"),
        ("is_reserved", "a reserved address"),
    ):
        if getattr(ip, attribute):
            return label
    if not ip.is_global:
        return "not a public address"
    return None


# Dots that IDNA (UTS #46) maps to "." after NFKC: the ideographic full stop and its half-width
# form (NFKC already turns the full-width "．" into ".").
_IDNA_DOTS = str.maketrans({"\u3002": ".", "\uff61": "."})
_LOOPBACK = ipaddress.IPv4Address("127.0.0.1")


def normalise_host(host: str) -> str:
    """The host as the resolver will be asked for it: NFKC (full-width and circled digits become
    ASCII), IDNA full stops as dots, lower case, no brackets, no trailing dot."""
    host = unicodedata.normalize("NFKC", host).translate(_IDNA_DOTS).lower().strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host[:-1] if host.endswith(".") and not host.endswith("..") else host


def _inet_aton(host: str) -> ipaddress.IPv4Address | None:
    """IPv4 as BSD `inet_aton` reads it (what getaddrinfo does with a numeric host): one to four
    parts, each decimal, octal (leading 0) or hex (0x); the last part fills the remaining bytes."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values = []
    for part in parts:
        if not part or len(part) > 12:
            return None
        if part[:2] == "0x":
            digits, base = part[2:] or "0", 16
        elif len(part) > 1 and part[0] == "0":
            digits, base = part[1:], 8
        else:
            digits, base = part, 10
        allowed = "0123456789abcdef"[:base]
        if not digits.isascii() or any(ch not in allowed for ch in digits):
            return None
        values.append(int(digits, base))
    *leading, last = values
    if any(v > 255 for v in leading) or last >= 256 ** (4 - len(leading)):
        return None
    number = 0
    for v in leading:
        number = number * 256 + v
    return ipaddress.IPv4Address(number * 256 ** (4 - len(leading)) + last)


def literal_address(host: str) -> IPAddress | None:
    """The address a URL's host names without DNS (an IP in any spelling, or `localhost`), or
    None when it is a name that DNS must answer (checked again at connect time)."""
    host = normalise_host(host)
    if host == "localhost" or host.endswith(".localhost"):
        return _LOOPBACK
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return _inet_aton(host)


def host_refusal(host: str) -> str | None:
    """Why webhooks may not go to the host written in a URL, or None when it is a public
    address or a name (whose addresses the guard checks as it connects)."""
    address = literal_address(host)
    return None if address is None else refusal_reason(address)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # the client's address; the server part is the relay
    if any(ip in network for network in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:  # ::1 and :: are loopback and unspecified, not IPv4
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def guarded_create_connection(
    address: tuple[str, int],
    timeout: Any = None,
    source_address: tuple[str, int] | None = None,
    socket_options: Any = None,
    *,
    allow_private: bool,
) -> socket.socket:
    """urllib3's create_connection, with every resolved address checked before it is used."""
    host, port = address
    if host.startswith("["):
        host = host.strip("[]")
    literal = None if allow_private else host_refusal(host)
    if literal is not None:
        raise RefusedAddress(f"{host} is {literal} (set WEBHOOK_ALLOW_PRIVATE_NETWORKS to allow it)")
    try:
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve {host}: {exc}") from None
    refused: list[str] = []
    last_error: OSError | None = None
    for family, socktype, proto, _canonname, sockaddr in infos:
        peer = sockaddr[0]
        reason = None if allow_private else refusal_reason(peer)
        if reason is not None:
            refused.append(f"{peer} is {reason}")
            continue
        sock = None
        try:
            sock = socket.socket(family, socktype, proto)
            for option in socket_options or ():
                sock.setsockopt(*option)
            if timeout is not None and timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:  # type: ignore[attr-defined]
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            # Belt and braces: what we are connected to is what we checked.
            connected = sock.getpeername()[0]
            if not allow_private and refusal_reason(connected) is not None:
                raise RefusedAddress(f"{connected} is {refusal_reason(connected)}")
            return sock
        except RefusedAddress:
            sock.close()
            raise
        except OSError as exc:
            last_error = exc
            if sock is not None:
                sock.close()
    if refused and last_error is None:
        raise RefusedAddress(
            f"{host} resolves only to addresses webhooks may not reach: {'; '.join(refused)} "
            "(set WEBHOOK_ALLOW_PRIVATE_NETWORKS to allow them)"
        )
    if last_error is not None:
        raise last_error
    raise OSError(f"{host} resolved to no address")


class _GuardMixin:
    allow_private = False

    def _new_conn(self) -> socket.socket:
        try:
            return guarded_create_connection(
                (self._dns_host, self.port),  # type: ignore[attr-defined]
                self.timeout,  # type: ignore[attr-defined]
                source_address=self.source_address,  # type: ignore[attr-defined]
                socket_options=self.socket_options,  # type: ignore[attr-defined]
                allow_private=self.allow_private,
            )
        except TimeoutError as exc:
            raise ConnectTimeoutError(self, f"connection to {self.host} timed out") from exc  # type: ignore[attr-defined]
        except OSError as exc:
            raise NewConnectionError(self, str(exc)) from exc


def refused_in(exc: BaseException | None) -> RefusedAddress | None:
    """The guard's refusal behind a requests/urllib3 error, if that is what it was."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, RefusedAddress):
            return exc
        reason = getattr(exc, "reason", None)
        if isinstance(reason, BaseException):
            found = refused_in(reason)
            if found is not None:
                return found
        exc = (
            exc.__cause__
            or exc.__context__
            or (exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None)
        )
    return None


def _pool_classes(allow_private: bool) -> dict[str, type]:
    http_conn = type("GuardedHTTPConnection", (_GuardMixin, HTTPConnection), {"allow_private": allow_private})
    https_conn = type("GuardedHTTPSConnection", (_GuardMixin, HTTPSConnection), {"allow_private": allow_private})
    return {
        "http": type("GuardedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
        "https": type("GuardedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
    }


_POOLS = {True: _pool_classes(True), False: _pool_classes(False)}


class GuardedAdapter(HTTPAdapter):
    def __init__(self, *, allow_private: bool, **kwargs: Any) -> None:
        self._allow_private = allow_private
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS[self._allow_private]


def webhook_session(*, allow_private: bool, pool_size: int = 4) -> requests.Session:
    """A session whose every connection goes through the guard; proxies from the environment off.
    `pool_size` keep-alive connections per host are kept (more may open, and are then closed)."""
    session = requests.Session()
    session.trust_env = False
    adapter = GuardedAdapter(allow_private=allow_private, pool_connections=4, pool_maxsize=max(1, pool_size))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
