"""Attempt limits: log-in, sign-up, join codes and proof screenshots, per account, per device and per
client address.

Rule: an attempt takes a slot in every bucket it belongs to *before* the password (or join code)
is checked, in one atomic step; when any bucket already holds its limit within the moving window,
the attempt is refused with 429 without checking anything, even with the right password
(otherwise the answer would tell a guesser when they got it right). An attempt that turns out
to succeed gives its slots back, so only failures stay counted and an office of staff behind one
address is not locked out by logging in. Because the slot is taken before the slow password
hash and not recorded after it, no number of simultaneous requests gets more than the limit
through: 20 parallel wrong guesses against a limit of 5 get 5 answers of "wrong password" and
15 refusals, on any number of workers.

Buckets of a log-in:
- the address (`LOGIN_LIMIT_PER_ADDRESS`), always;
- the account typed (`LOGIN_LIMIT_PER_ACCOUNT`, keyed by the email, known or not), unless the
  browser carries a known-device cookie for that account (app/auth/devices.py): such a device
  counts in a bucket of its own for that account (same limit), so an attacker elsewhere who
  uses up the account's limit cannot lock the owner out of a device they have logged in on.
An admin unlocking the account (portal, `flask users unlock`) or setting its password clears the
account's buckets (all of its devices included).

The windows live in `RATELIMIT_STORAGE_URI` (Redis: one sorted set per bucket, checked and
filled by one Lua script), so every gunicorn worker and every machine sees the same counts. If
Redis cannot be reached or does not answer within `REDIS_TIMEOUT` (half a second by default, no
retries), the counts are kept in this process's memory instead (logged as a warning, retried
every `_RETRY_DEAD_STORAGE` seconds): log-in keeps working, with limits per worker, rather than
failing with a 500 after gunicorn's timeout.

The limit settings use the `limits` library's notation ("5 per 15 minutes", "5/minute;20/hour").
Its rate limiters are not used for counting: they cannot hand back the slot of an attempt that
succeeded, which is what lets the slot be taken before the check.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Protocol

from flask import Flask, current_app
from limits import RateLimitItem, parse_many
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.config import ConfigError

EXTENSION_KEY = "login_throttle"
_RETRY_DEAD_STORAGE = 30.0
_NAMESPACE = "deltacrown-login"

# Settings holding limits, and their defaults live in app/config.py.
LIMIT_SETTINGS = (
    "LOGIN_LIMIT_PER_ACCOUNT",
    "LOGIN_LIMIT_PER_ADDRESS",
    "SIGNUP_LIMIT_PER_ADDRESS",
    "JOIN_CODE_LIMIT_PER_ACCOUNT",
    "JOIN_CODE_LIMIT_PER_ADDRESS",
    "PROOF_UPLOAD_LIMIT_PER_ACCOUNT",
)


@dataclass
class Refusal:
    scope: str  # "account", "address"
    retry_after: int  # seconds


@dataclass(frozen=True)
class Window:
    key: str
    limit: int
    seconds: int
    scope: str


class _Store(Protocol):
    def reserve(self, windows: list[Window], member: str) -> tuple[int, float] | None: ...
    def release(self, windows: list[Window], member: str) -> None: ...
    def clear(self, prefixes: list[str]) -> None: ...
    def check(self) -> bool: ...


class MemoryStore:
    """One process's windows (tests, and the fallback while Redis is down); a lock makes the
    check-and-take atomic between the threads of a worker."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, list[tuple[float, str]]] = {}

    def reserve(self, windows: list[Window], member: str) -> tuple[int, float] | None:
        now = time.time()
        with self._lock:
            for index, window in enumerate(windows):
                entries = [e for e in self._entries.get(window.key, []) if e[0] > now - window.seconds]
                self._entries[window.key] = entries
                if len(entries) >= window.limit:
                    oldest = entries[len(entries) - window.limit][0]
                    return index, oldest + window.seconds - now
            for window in windows:
                self._entries[window.key].append((now, member))
        return None

    def release(self, windows: list[Window], member: str) -> None:
        with self._lock:
            for window in windows:
                entries = self._entries.get(window.key)
                if entries:
                    self._entries[window.key] = [e for e in entries if e[1] != member]

    def check(self) -> bool:
        return True

    def clear(self, prefixes: list[str]) -> None:
        with self._lock:
            for key in [k for k in self._entries if k.startswith(tuple(prefixes))]:
                del self._entries[key]


# Every bucket of the attempt is trimmed and checked before any is filled, so an attempt is
# either counted everywhere or nowhere. Redis's own clock: workers on several hosts agree.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local member = ARGV[1]
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 * i])
  local window = tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count >= limit then
    local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    return {i, tonumber(oldest[2]) + window - now}
  end
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, tonumber(ARGV[2 * i + 1]))
end
return {0, 0}
"""


class RedisStore:
    def __init__(self, uri: str, **options: object) -> None:
        import redis

        self._client = redis.Redis.from_url(uri, **options)
        self._reserve = self._client.register_script(_RESERVE)

    def reserve(self, windows: list[Window], member: str) -> tuple[int, float] | None:
        args: list[object] = [member]
        for window in windows:
            args += [window.limit, window.seconds * 1000]
        index, wait_ms = self._reserve(keys=[w.key for w in windows], args=args)
        return None if int(index) == 0 else (int(index) - 1, float(wait_ms) / 1000)

    def release(self, windows: list[Window], member: str) -> None:
        pipe = self._client.pipeline(transaction=False)
        for window in windows:
            pipe.zrem(window.key, member)
        pipe.execute()

    def check(self) -> bool:
        """Readiness (/readyz): Redis answers within the connection's timeout."""
        return bool(self._client.ping())

    def clear(self, prefixes: list[str]) -> None:
        for prefix in prefixes:
            pattern = "".join(f"\\{ch}" if ch in "*?[]\\" else ch for ch in prefix) + "*"
            keys = list(self._client.scan_iter(match=pattern, count=500))
            if keys:
                self._client.delete(*keys)


@dataclass
class Attempt:
    """A taken slot: `refusal` is set when there was none to take; `succeeded()` gives it back."""

    refusal: Refusal | None
    _store: _Store | None = None
    _windows: list[Window] = field(default_factory=list)
    _member: str = ""

    def succeeded(self) -> None:
        if self._store is None or self.refusal is not None:
            return
        try:
            self._store.release(self._windows, self._member)
        except Exception:  # storage gone since: the slot ages out with its window
            current_app.logger.warning("could not hand back an attempt slot; it expires with its window")
        self._store = None


def _hash(text: str) -> str:
    # Hashed: an email typed into a form is user data, and must not become a Redis key verbatim.
    return hashlib.sha256(text.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclass
class LoginThrottle:
    storage_uri: str
    limits: dict[str, list[RateLimitItem]]
    key_prefix: str = ""
    _primary: _Store | None = None
    _fallback: MemoryStore = field(default_factory=MemoryStore)
    _dead_until: float = 0.0

    # --- buckets ---------------------------------------------------------------------------

    def _prefix(self) -> str:
        return f"{_NAMESPACE}{self.key_prefix}"

    def _windows(self, setting: str, key: str, scope: str) -> list[Window]:
        return [
            Window(f"{key}:{item.amount}/{item.get_expiry()}", item.amount, item.get_expiry(), scope)
            for item in self.limits[setting]
        ]

    def _account_key(self, email: str) -> str:
        return f"{self._prefix()}:account:{_hash(email)}"

    def login_windows(self, email: str, address: str, device: str | None = None) -> list[Window]:
        """The buckets of a log-in (or of a current-password check) for `email` from `address`;
        `device` is the known-device id when the browser has logged in to this account before."""
        account = self._account_key(email)
        if device:
            account = f"{account}:device:{_hash(device)}"
        return self._windows("LOGIN_LIMIT_PER_ACCOUNT", account, "account") + self._windows(
            "LOGIN_LIMIT_PER_ADDRESS", f"{self._prefix()}:address:{address or 'unknown'}", "address"
        )

    def signup_windows(self, address: str) -> list[Window]:
        return self._windows("SIGNUP_LIMIT_PER_ADDRESS", f"{self._prefix()}:signup:{address or 'unknown'}", "address")

    def join_code_windows(self, user_email: str, address: str) -> list[Window]:
        address_key = f"{self._prefix()}:join-address:{address or 'unknown'}"
        return self._windows(
            "JOIN_CODE_LIMIT_PER_ACCOUNT", f"{self._prefix()}:join:{_hash(user_email)}", "account"
        ) + self._windows("JOIN_CODE_LIMIT_PER_ADDRESS", address_key, "address")

    def proof_upload_windows(self, user_id: int) -> list[Window]:
        """Screenshots an account sends: every one counts (each costs a decode), kept or not."""
        return self._windows("PROOF_UPLOAD_LIMIT_PER_ACCOUNT", f"{self._prefix()}:proof-upload:{user_id}", "account")

    # --- counting --------------------------------------------------------------------------

    def _store(self) -> _Store:
        if self._primary is not None and time.monotonic() >= self._dead_until:
            return self._primary
        return self._fallback

    def _storage_failed(self, exc: Exception) -> _Store:
        self._dead_until = time.monotonic() + _RETRY_DEAD_STORAGE
        current_app.logger.warning(
            "rate limit storage %s unreachable (%s); counting attempts in this process for %ss",
            self.storage_uri,
            exc,
            int(_RETRY_DEAD_STORAGE),
        )
        return self._fallback

    def attempt(self, windows: list[Window]) -> Attempt:
        """Take a slot in every window, or none: refused when any window is full."""
        member = uuid.uuid4().hex
        store = self._store()
        try:
            full = store.reserve(windows, member)
        except Exception as exc:  # redis.ConnectionError, TimeoutError, ...: degrade, never 500
            store = self._storage_failed(exc)
            full = store.reserve(windows, member)
        if full is not None:
            index, wait = full
            return Attempt(Refusal(windows[index].scope, max(1, math.ceil(wait))))
        return Attempt(None, store, windows, member)

    def unlock_account(self, email: str) -> None:
        """Forget every failed attempt counted against the account (log-in, all its devices, join
        codes); the address buckets stay, since they belong to whoever did the guessing."""
        prefixes = [self._account_key(email), f"{self._prefix()}:join:{_hash(email)}"]
        for store in (self._primary, self._fallback):
            if store is None:
                continue
            try:
                store.clear(prefixes)
            except Exception as exc:  # storage down: nothing to clear there
                current_app.logger.warning("could not clear attempt counts in %s: %s", self.storage_uri, exc)

    def reset_address(self, address: str) -> None:
        """Forget the address's log-in failures (tests; an operator behind a shared address)."""
        for store in (self._primary, self._fallback):
            if store is not None:
                store.clear([f"{self._prefix()}:address:{address or 'unknown'}:"])


def parse_limit(name: str, value: object) -> list[RateLimitItem]:
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
        limits={name: parse_limit(name, app.config[name]) for name in LIMIT_SETTINGS},
        key_prefix=app.config.get("RATELIMIT_KEY_PREFIX") or "",
    )
    if uri.startswith("memory://"):
        throttle._primary = throttle._fallback
    elif uri.split("://", 1)[0] in ("redis", "rediss", "unix"):
        try:
            throttle._primary = RedisStore(uri, **redis_options(uri, app.config["REDIS_TIMEOUT"]))
        except Exception as exc:  # a malformed URI is a configuration mistake
            raise ConfigError(f"RATELIMIT_STORAGE_URI: cannot use {uri!r}: {exc}") from None
    else:
        raise ConfigError(f"RATELIMIT_STORAGE_URI: expected memory:// or redis://host:port/db, got {uri!r}")
    app.extensions[EXTENSION_KEY] = throttle


def throttle() -> LoginThrottle:
    return current_app.extensions[EXTENSION_KEY]
