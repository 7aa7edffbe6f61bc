"""Signed webhooks, contract §6.

Rules:
- The body is the compact JSON `{"type", "timestamp", "data"}`; the exact bytes that are signed
  are the bytes sent.
- `X-DeltaCrown-Signature`: hex HMAC-SHA256 of the body, key = the secret's UTF-8 bytes.
  `webhook-id` / `webhook-timestamp` / `webhook-signature` per Standard Webhooks: `v1,` +
  base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`, key = the base64-decoded secret when it
  starts with `whsec_`, else its UTF-8 bytes. The id is the event's, the same on every retry
  and redelivery (receivers dedupe on it); the timestamp is the attempt's.
- During the 24 hours after a rotation both secrets sign: each header carries two
  signatures, space-separated, the new one first.
- Success is a 2xx within the timeouts. Redirects are not followed (a 3xx is a failure, retried).
  410 Gone disables an admin-managed endpoint and stops retrying (the worker applies that). Addresses the SSRF guard
  refuses (see `net`) are not retried either.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import current_app

from app.models import utcnow
from app.notifications import net
from app.notifications.models import MAX_URL, Delivery, OutboxEvent, WebhookEndpoint
from app.notifications.outcome import Outcome
from app.timestamps import iso_z

ROTATION_OVERLAP = timedelta(hours=24)
RESPONSE_EXCERPT_CHARS = 500
_READ_LIMIT = 4096
USER_AGENT = "DeltaCrown-Webhooks/1.0"


# ----------------------------------------------------------------------------- wire format


def body_bytes(event: OutboxEvent) -> bytes:
    payload = {"type": event.type, "timestamp": iso_z(event.occurred_at), "data": event.data}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def standard_key(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        encoded = secret[len("whsec_") :]
        try:
            return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except binascii.Error:
            # Not valid base64 after all: fall back to the bytes, so we still sign verifiably.
            return secret.encode("utf-8")
    return secret.encode("utf-8")


def signature_headers(secrets_: list[str], event_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The signature headers of one attempt, one signature per active secret."""
    signed = f"{event_id}.{timestamp}.".encode() + body
    hex_sigs = [hmac.new(s.encode("utf-8"), body, hashlib.sha256).hexdigest() for s in secrets_]
    std_sigs = [
        "v1," + base64.b64encode(hmac.new(standard_key(s), signed, hashlib.sha256).digest()).decode("ascii")
        for s in secrets_
    ]
    return {
        "X-DeltaCrown-Event-ID": event_id,
        "X-DeltaCrown-Signature": " ".join(hex_sigs),
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(std_sigs),
    }


# ----------------------------------------------------------------------------- endpoints


def new_secret() -> str:
    """A Standard Webhooks style secret: `whsec_` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def active_secrets(endpoint: WebhookEndpoint | None, now: datetime | None = None) -> list[str]:
    if endpoint is None:
        return [current_app.config["WEBHOOK_SECRET_KEY"]]
    now = now or utcnow()
    found = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
        found.append(endpoint.previous_secret)
    return found


def rotate_secret(endpoint: WebhookEndpoint) -> str:
    """Give the endpoint a new secret; the old one keeps signing for ROTATION_OVERLAP. No commit."""
    fresh = new_secret()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = utcnow() + ROTATION_OVERLAP
    endpoint.secret = fresh
    return fresh


def destination_url(delivery: Delivery) -> str | None:
    if delivery.endpoint_id is None:
        return current_app.config.get("WEBHOOK_DELIVERY_URL") or None
    return delivery.endpoint.url if delivery.endpoint is not None else None


def check_url(url: str) -> str | None:
    """Why `url` cannot be a webhook endpoint, or None. (Addresses are checked when connecting.)"""
    if not url or len(url) > MAX_URL:
        return f"URL: give an http:// or https:// address of at most {MAX_URL} characters"
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return "URL: must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"URL: {exc}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "URL: give an http:// or https:// address with a host name"
    if parts.username or parts.password:
        return "URL: must not contain a user name or password"
    if port == 0:
        return "URL: port 0 is not a port"
    if not current_app.config.get("WEBHOOK_ALLOW_PRIVATE_NETWORKS"):
        host = parts.hostname
        reason = net.host_refusal(host)
        if reason is not None:
            return f"URL: {host} is {reason}; webhooks only go to public addresses"
    return None


# ----------------------------------------------------------------------------- sending


@dataclass(frozen=True)
class Request:
    """One attempt, ready to go: everything the sending thread needs, with no database access."""

    url: str
    body: bytes
    headers: dict[str, str]
    timeout: tuple[float, float]


def prepare(delivery: Delivery, now: datetime | None = None) -> Request | Outcome:
    """The signed request for one attempt at `delivery`, or the Outcome that makes sending moot.

    The signatures are made here, just before the request is handed to a free sender, so
    `webhook-timestamp` is the attempt's time."""
    config = current_app.config
    url = destination_url(delivery)
    if url is None:
        return Outcome.give_up("no destination: the endpoint is gone or WEBHOOK_DELIVERY_URL is empty")
    keys = active_secrets(delivery.endpoint, now)
    if not all(keys):
        return Outcome.retry("the endpoint's secret cannot be decrypted with WEBHOOK_SECRET_KEYS (a key was removed?)")
    event = delivery.event
    body = body_bytes(event)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **signature_headers(keys, event.event_id, int(time.time()), body),
    }
    timeout = (float(config["WEBHOOK_CONNECT_TIMEOUT"]), float(config["WEBHOOK_TIMEOUT"]))
    return Request(url, body, headers, timeout)


def session_for(allow_private: bool, pool_size: int) -> requests.Session:
    """A keep-alive session for one endpoint, shared by the sender threads (its connection pool
    is thread-safe; cookies are refused, so nothing in it changes while they share it)."""
    session = net.webhook_session(allow_private=allow_private, pool_size=pool_size)
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    return session


def send(request: Request, session: requests.Session) -> Outcome:
    """Make the attempt. Runs in a sender thread: no app context, no database."""
    started = time.monotonic()
    try:
        response = session.post(
            request.url,
            data=request.body,
            headers=request.headers,
            timeout=request.timeout,
            allow_redirects=False,
            stream=True,
        )
        try:
            excerpt = _read_excerpt(response, started + request.timeout[1])
        finally:
            response.close()
    except requests.RequestException as exc:
        latency = int((time.monotonic() - started) * 1000)
        refused = net.refused_in(exc)
        if refused is not None:
            return Outcome.give_up(f"refused by the SSRF guard: {refused}", latency_ms=latency)
        return Outcome.retry(_describe(exc), latency_ms=latency)
    latency = int((time.monotonic() - started) * 1000)
    status = response.status_code
    extra: dict[str, Any] = {"status_code": status, "latency_ms": latency, "response_excerpt": excerpt}
    if 200 <= status < 300:
        return Outcome.delivered(f"HTTP {status}", **extra)
    if status == 410:
        # The worker disables an admin endpoint on this answer (`health.record`).
        return Outcome.give_up("HTTP 410 Gone: the receiver asked us to stop; endpoint disabled", **extra)
    if 300 <= status < 400:
        where = response.headers.get("Location", "")[:200]
        return Outcome.retry(f"HTTP {status} redirect to {where!r} (redirects are not followed)", **extra)
    return Outcome.retry(f"HTTP {status}", **extra)


def deliver(delivery: Delivery) -> Outcome:
    """One attempt at `delivery`, prepared and sent in the caller's thread (the worker splits the
    two, to send many at once). Never commits."""
    prepared = prepare(delivery)
    if isinstance(prepared, Outcome):
        return prepared
    allow_private = bool(current_app.config.get("WEBHOOK_ALLOW_PRIVATE_NETWORKS"))
    with closing(session_for(allow_private, 1)) as session:
        return send(prepared, session)


def _read_excerpt(response: requests.Response, deadline: float) -> str:
    """The start of the answer, without letting a huge or dripping body hold the worker."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(1024):
        chunks.append(chunk)
        size += len(chunk)
        if size >= _READ_LIMIT or time.monotonic() > deadline:
            break
    return b"".join(chunks).decode("utf-8", "replace")[:RESPONSE_EXCERPT_CHARS]


def _describe(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.ConnectTimeout):
        return "connect timeout"
    if isinstance(exc, requests.ReadTimeout):
        return "read timeout: no answer in time"
    if isinstance(exc, requests.ConnectionError):
        return f"connection failed: {str(exc)[:300]}"
    return f"{type(exc).__name__}: {str(exc)[:300]}"
