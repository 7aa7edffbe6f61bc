"""Login attempt limits, per account and per client address.

Rule: a failed log-in counts against the account (the email typed, known or not) and against
the client address; once either has used up its limit within the moving window
(`LOGIN_LIMIT_PER_ACCOUNT`, `LOGIN_LIMIT_PER_ADDRESS`), every further attempt for it is
refused with 429 until the window has room again, even with the right password (otherwise
the answer would tell a guesser when they got it right). Successful log-ins do not count, so
an office of staff behind one address is not locked out by logging in.

The counters live in `RATELIMIT_STORAGE_URI` (Redis), so every gunicorn worker and every
machine sees the same counts. If that storage cannot be reached or does not answer within
`REDIS_TIMEOUT` (half a second by default), the counts are kept in this process's memory
instead (logged as a warning, retried every `_RETRY_DEAD_STORAGE` seconds): log-in keeps
working, with limits per worker, rather than failing with a 500 after gunicorn's timeout.

Built on `limits` (the library under Flask-Limiter): Flask-Limiter keeps one storage per
extension object, which cannot serve several apps in one process (the tests build many) and
cannot count only failed attempts keyed by the account typed into a form.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
from dataclasses import dataclass, field

from flask import Flask, current_app
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.config import ConfigError

EXTENSION_KEY = "login_throttle"
_RETRY_DEAD_STORAGE = 30.0
_NAMESPACE = "deltacrown-login"


@dataclass
class Refusal:
    scope: str  # "account" or "address"
    retry_after: int  # seconds


@dataclass
class LoginThrottle:
    storage_uri: str
    per_account: list[RateLimitItem]
    per_address: list[RateLimitItem]
    key_prefix: str = ""
    _primary: Storage | None = None
    _fallback: MemoryStorage = field(default_factory=MemoryStorage)
    _dead_until: float = 0.0

    def _limiter(self) -> MovingWindowRateLimiter:
        if self._primary is not None and time.monotonic() >= self._dead_until:
            return MovingWindowRateLimiter(self._primary)
        return MovingWindowRateLimiter(self._fallback)

    def _storage_failed(self, exc: Exception) -> MovingWindowRateLimiter:
        self._dead_until = time.monotonic() + _RETRY_DEAD_STORAGE
        current_app.logger.warning(
            "rate limit storage %s unreachable (%s); counting log-in attempts in this process for %ss",
            self.storage_uri,
            exc,
            int(_RETRY_DEAD_STORAGE),
        )
        return MovingWindowRateLimiter(self._fallback)

    def _keys(self, email: str, address: str) -> list[tuple[str, list[RateLimitItem], str]]:
        # Hashed: an email typed into the form is user data, and must not become a Redis key verbatim.
        account = hashlib.sha256(email.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()[:32]
        prefix = f"{_NAMESPACE}{self.key_prefix}"
        return [
            ("account", self.per_account, f"{prefix}:account:{account}"),
            ("address", self.per_address, f"{prefix}:address:{address or 'unknown'}"),
        ]

    def check(self, email: str, address: str) -> Refusal | None:
        """None when an attempt may go ahead, else which limit is used up and for how long."""
        limiter = self._limiter()
        try:
            return self._check(limiter, email, address)
        except Exception as exc:  # redis.ConnectionError, TimeoutError, ...: degrade, never 500
            return self._check(self._storage_failed(exc), email, address)

    def _check(self, limiter: MovingWindowRateLimiter, email: str, address: str) -> Refusal | None:
        for scope, items, key in self._keys(email, address):
            for item in items:
                if not limiter.test(item, key):
                    reset = limiter.get_window_stats(item, key).reset_time
                    return Refusal(scope, max(1, math.ceil(reset - time.time())))
        return None

    def failed(self, email: str, address: str) -> None:
        """Count one failed attempt against both the account and the address."""
        limiter = self._limiter()
        try:
            self._hit(limiter, email, address)
        except Exception as exc:
            self._hit(self._storage_failed(exc), email, address)

    def _hit(self, limiter: MovingWindowRateLimiter, email: str, address: str) -> None:
        for _scope, items, key in self._keys(email, address):
            for item in items:
                limiter.hit(item, key)

    def reset(self, email: str, address: str) -> None:
        """Forget the counts (tests; an admin unlocking an account)."""
        for storage in (self._primary, self._fallback):
            if storage is None:
                continue
            limiter = MovingWindowRateLimiter(storage)
            for _scope, items, key in self._keys(email, address):
                for item in items:
                    with contextlib.suppress(Exception):  # storage down: nothing to clear there
                        limiter.clear(item, key)


def _parse(name: str, value: str) -> list[RateLimitItem]:
    try:
        items = parse_many(str(value))
    except ValueError:
        items = []
    if not items:
        raise ConfigError(f"{name}: expected limits such as '5 per 15 minutes' or '5/minute;20/hour', got {value!r}")
    return items


def redis_options(uri: str, timeout: float) -> dict[str, object]:
    """Connection options that bound every wait on Redis to `timeout` seconds, with no retry:
    a hung Redis (accepts, never answers) then raises TimeoutError at once and log-in counts in
    memory, instead of waiting out redis-py's default retries behind gunicorn's worker timeout."""
    if not uri.startswith(("redis://", "rediss://", "unix://")):
        return {}
    return {
        "socket_timeout": float(timeout),
        "socket_connect_timeout": float(timeout),
        "retry": Retry(NoBackoff(), 0),
    }


def init_app(app: Flask) -> None:
    uri = app.config.get("RATELIMIT_STORAGE_URI")
    if not uri:
        # Tests get a private counter per app; everything else shares Redis when it is there.
        uri = "memory://" if app.testing else "redis://127.0.0.1:6379/0"
        app.config["RATELIMIT_STORAGE_URI"] = uri
    throttle = LoginThrottle(
        storage_uri=uri,
        per_account=_parse("LOGIN_LIMIT_PER_ACCOUNT", app.config["LOGIN_LIMIT_PER_ACCOUNT"]),
        per_address=_parse("LOGIN_LIMIT_PER_ADDRESS", app.config["LOGIN_LIMIT_PER_ADDRESS"]),
        key_prefix=app.config.get("RATELIMIT_KEY_PREFIX") or "",
    )
    if uri.startswith("memory://"):
        throttle._primary = throttle._fallback
    else:
        try:
            throttle._primary = storage_from_string(uri, **redis_options(uri, app.config["REDIS_TIMEOUT"]))
        except Exception as exc:  # a bad scheme or a missing driver is a configuration mistake
            raise ConfigError(f"RATELIMIT_STORAGE_URI: cannot use {uri!r}: {exc}") from None
    app.extensions[EXTENSION_KEY] = throttle


def throttle() -> LoginThrottle:
    return current_app.extensions[EXTENSION_KEY]
