"""Which host names the site answers to, and the one address it writes into absolute links.

Rule: a request whose `Host` is not in the allow-list is refused with a 400 page before any
view runs. The allow-list is `ALLOWED_HOSTS` (comma-separated names, ports ignored), plus the
host of `PUBLIC_BASE_URL`; in tests, debug mode, and when PUBLIC_BASE_URL itself is a loopback
address (`make run`), `localhost` and `127.0.0.1` are allowed too.
The health endpoints (`/healthz`, `/readyz`) answer whatever the Host, because load balancers
probe instances by address and those answers contain no links.

Absolute links (the embed code, the overlay and widget links, the widget's link back) are
`PUBLIC_BASE_URL` + a path, never built from the request: a forged `Host` (or
`X-Forwarded-Host`, which is never trusted) cannot put someone else's address into a page that
a shared cache then hands to everyone, and one page is one cache entry whatever the Host.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app, request, url_for
from werkzeug.exceptions import BadRequest

_ALWAYS_ANSWERED = frozenset({"/healthz", "/readyz"})
_LOCAL_NAMES = ("localhost", "127.0.0.1")


def allowed_hosts(config) -> frozenset[str]:
    names = {n.strip().lower() for n in str(config.get("ALLOWED_HOSTS") or "").split(",") if n.strip()}
    base = urlsplit(str(config.get("PUBLIC_BASE_URL") or "")).hostname
    if base:
        names.add(base.lower())
    if config.get("TESTING") or config.get("DEBUG") or (base or "").lower() in _LOCAL_NAMES:
        # A development site (tests, debug, or served at a loopback address as `make run`
        # does) answers to both loopback names.
        names.update(_LOCAL_NAMES)
    return frozenset(names)


def _hostname(host: str) -> str:
    """`Host` without its port; `[::1]:8000` -> `::1`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def public_url(endpoint: str, **values) -> str:
    """The absolute address of a page as users reach it: PUBLIC_BASE_URL + its path."""
    base = str(current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    return base + url_for(endpoint, **values)


def init_app(app: Flask) -> None:
    names = allowed_hosts(app.config)
    app.config["ALLOWED_HOSTS_RESOLVED"] = names

    @app.before_request
    def _refuse_unknown_hosts():
        if request.path in _ALWAYS_ANSWERED:
            return None
        if _hostname(request.host) not in names:
            raise BadRequest("This site does not answer to that host name.")
        return None
