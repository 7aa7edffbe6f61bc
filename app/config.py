"""Configuration in layers: these defaults, then the environment (and a `.env` file), then the
dict handed to `create_app` (tests).

Every setting can be given as an environment variable of the same name. Secrets have no usable
default: `check_production_config` refuses to start a production app that still carries one.
"""

from __future__ import annotations

import json
import os
from typing import Any

DEFAULT_SECRET_KEY = "dev-insecure-secret-key"
DEFAULT_WEBHOOK_SECRET_KEY = "changeme-in-production"

DEFAULTS: dict[str, Any] = {
    "SECRET_KEY": DEFAULT_SECRET_KEY,
    # Previous secret keys, still accepted for sessions signed before a rotation (comma-separated
    # in the environment, newest first). New sessions are signed with SECRET_KEY only.
    "SECRET_KEY_FALLBACKS": [],
    # None means "a SQLite file in the instance folder", resolved in create_app.
    "DATABASE_URL": None,
    # Bounded waits on PostgreSQL, in seconds, so a hung database answers the site's 503 page
    # quickly instead of holding a gunicorn worker until its timeout. Web processes use the
    # first pair; `flask` commands (imports, the delivery worker, migrations) may run longer
    # statements. A statement timeout of 0 means none.
    "DB_CONNECT_TIMEOUT": 3,
    "DB_STATEMENT_TIMEOUT": 5.0,
    "DB_CLI_STATEMENT_TIMEOUT": 600.0,
    # Seconds to wait for Redis (log-in limits) to connect or answer before counting in memory.
    "REDIS_TIMEOUT": 0.5,
    "NOTIFICATIONS_EMAIL_ENABLED": False,
    "NOTIFICATIONS_WEBHOOK_ENABLED": False,
    "WEBHOOK_SECRET_KEY": DEFAULT_WEBHOOK_SECRET_KEY,
    "WEBHOOK_DELIVERY_URL": "",
    "WEBHOOK_MAX_RETRIES": 3,
    "WEBHOOK_RETRY_DELAYS": [1, 5, 25],
    "WEBHOOK_TIMEOUT": 10,
    # Seconds to wait for a receiver to accept the connection (WEBHOOK_TIMEOUT bounds the answer).
    "WEBHOOK_CONNECT_TIMEOUT": 5,
    # Off: webhooks refuse loopback, private, link-local, multicast and reserved addresses
    # (checked on the address actually connected to, after DNS). `make run` and tests turn it on.
    "WEBHOOK_ALLOW_PRIVATE_NETWORKS": False,
    # The delivery worker: how long a claim lasts (a dead worker's deliveries are retried after
    # it), how many deliveries one claim takes, and how often an idle worker looks for work.
    "WORKER_LEASE_SECONDS": 60.0,
    "WORKER_BATCH_SIZE": 20,
    "WORKER_POLL_INTERVAL": 1.0,
    # Deliveries one worker process has in flight at once, and at most per webhook endpoint
    # (a slow or dead endpoint holds only its own slots; emails share one SMTP connection).
    "WORKER_CONCURRENCY": 16,
    "WORKER_PER_ENDPOINT": 4,
    # On SIGTERM, how long in-flight deliveries may still finish before they are handed back.
    "WORKER_SHUTDOWN_GRACE": 20.0,
    # The circuit of an admin endpoint: after this many consecutive failures it opens (no sends)
    # for WEBHOOK_CIRCUIT_BASE_SECONDS, doubling per further failed probe up to the maximum;
    # when it half-opens, one probe goes out and its answer closes or re-opens it.
    "WEBHOOK_CIRCUIT_THRESHOLD": 5,
    "WEBHOOK_CIRCUIT_BASE_SECONDS": 30.0,
    "WEBHOOK_CIRCUIT_MAX_SECONDS": 3600.0,
    # An endpoint failing without a single success for this long is disabled (admins are told).
    "WEBHOOK_DISABLE_AFTER_SECONDS": 3 * 24 * 3600.0,
    # Fernet keys (comma-separated) for the endpoint secrets at rest: the first encrypts, all
    # decrypt. Empty: one key derived from SECRET_KEY. See README, "Rotating the secret keys".
    "WEBHOOK_SECRET_KEYS": "",
    # Delivered events, their attempts, and inbox items older than this many days are pruned
    # (the worker does it every WORKER_PRUNE_INTERVAL seconds; `flask outbox prune` too).
    "NOTIFICATIONS_RETENTION_DAYS": 30,
    "WORKER_PRUNE_INTERVAL": 3600.0,
    "PRUNE_BATCH_SIZE": 500,
    # How often the worker runs registration's timed steps (deadlines, waiting list, no-shows).
    "REGISTRATION_TICK_SECONDS": 5.0,
    "MAIL_SERVER": "localhost",
    "MAIL_PORT": 25,
    "MAIL_USE_TLS": False,
    "MAIL_USE_SSL": False,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_DEFAULT_SENDER": "DeltaCrown <noreply@deltacrown.local>",
    "MAIL_TIMEOUT": 10,
    # CA bundle (PEM file) to verify the SMTP server's certificate with; empty: the system's trust store.
    "MAIL_CA_FILE": "",
    # Where users reach the site: the links in emails (and their unsubscribe links) start with it.
    "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
    # Host names the site answers to besides PUBLIC_BASE_URL's (comma-separated, e.g.
    # "leaderboards.example.com,www.leaderboards.example.com"); any other Host is a 400.
    "ALLOWED_HOSTS": "",
    # How often an open page asks for the header's unread-notification count.
    "INBOX_POLL_SECONDS": 20,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,
    "WTF_CSRF_TIME_LIMIT": None,
    # Request bodies (API calls, forms) are small; big files are imported with the CLI.
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    # Log-in limits (app/services/support/throttle.py). None: Redis on localhost, or memory in tests.
    "RATELIMIT_STORAGE_URI": None,
    "RATELIMIT_KEY_PREFIX": "",
    "LOGIN_LIMIT_PER_ACCOUNT": "5 per 15 minutes",
    "LOGIN_LIMIT_PER_ADDRESS": "30 per 15 minutes",
    # A browser that has logged in to an account is "known" to it for this many days: its
    # failed log-ins count apart from everyone else's, so others cannot lock it out.
    "KNOWN_DEVICE_DAYS": 365,
    # Sign-ups (any outcome) from one address, and wrong join codes per account and per address.
    "SIGNUP_LIMIT_PER_ADDRESS": "10 per hour",
    "JOIN_CODE_LIMIT_PER_ACCOUNT": "10 per 15 minutes",
    "JOIN_CODE_LIMIT_PER_ADDRESS": "30 per 15 minutes",
    # Payment-proof screenshots per account (each is decoded: memory and CPU), whatever the outcome.
    "PROOF_UPLOAD_LIMIT_PER_ACCOUNT": "10 per hour",
    # How long the link in an address-verification email works (seconds; 3 days).
    "EMAIL_VERIFICATION_MAX_AGE": 3 * 24 * 3600,
    # Strict-Transport-Security max-age (seconds) sent in production over https; 0 sends none.
    "HSTS_MAX_AGE": 365 * 24 * 3600,
    # "Remember me" lasts this many seconds (14 days); log-out ends it earlier.
    "REMEMBER_COOKIE_DURATION": 14 * 24 * 3600,
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    # How many proxies in front of the app set X-Forwarded-For/-Proto (0: trust none).
    # X-Forwarded-Host is never trusted: links are built from PUBLIC_BASE_URL, not the request.
    "TRUSTED_PROXY_COUNT": 0,
}

_BOOL_TRUE = {"1", "true", "yes", "on"}
_BOOL_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names the setting."""


# Lists of words rather than of numbers.
_STRING_LISTS = {"SECRET_KEY_FALLBACKS"}


def _coerce(name: str, raw: str, default: Any) -> Any:
    if name in _STRING_LISTS:
        return [part.strip() for part in raw.split(",") if part.strip()]
    if isinstance(default, bool):
        value = raw.strip().lower()
        if value in _BOOL_TRUE:
            return True
        if value in _BOOL_FALSE:
            return False
        raise ConfigError(f"{name}: expected true/false, got {raw!r}")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{name}: expected an integer, got {raw!r}") from None
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{name}: expected a number of seconds, got {raw!r}") from None
    if isinstance(default, list):
        # Accept JSON ("[1, 5, 25]") or a plain comma list ("1,5,25").
        text = raw.strip()
        try:
            items = json.loads(text) if text.startswith("[") else [p for p in text.split(",") if p.strip()]
            return [float(i) if "." in str(i) else int(i) for i in items]
        except (ValueError, TypeError):
            raise ConfigError(f"{name}: expected a list of seconds such as 1,5,25, got {raw!r}") from None
    return raw


def from_environment(environ: os._Environ[str] | dict[str, str] | None = None) -> dict[str, Any]:
    """Settings found in the environment, converted to the type of their default."""
    environ = os.environ if environ is None else environ
    found: dict[str, Any] = {}
    for name, default in DEFAULTS.items():
        if name in environ:
            found[name] = _coerce(name, environ[name], default)
    return found


def force_production_cookies(config: dict[str, Any] | Any) -> None:
    """Production (neither testing nor debug): session and remember-me cookies only ever travel
    over HTTPS. Forced over whatever was configured, so no deployment can forget it (browsers
    accept Secure cookies from http://localhost, so development keeps working without it)."""
    if not config.get("TESTING") and not config.get("DEBUG"):
        config["SESSION_COOKIE_SECURE"] = True
        config["REMEMBER_COOKIE_SECURE"] = True


def trusted_proxy_hops(config: dict[str, Any] | Any) -> int:
    """How many hops of X-Forwarded-For/-Proto to believe (TRUSTED_PROXY_COUNT; 0: none). Only the
    last hops are believed: a client can write anything in that header, but cannot forge what our
    own proxies append. X-Forwarded-Host is never believed: links come from PUBLIC_BASE_URL and
    the Host is checked (app.hosts)."""
    try:
        hops = int(config.get("TRUSTED_PROXY_COUNT") or 0)
    except (TypeError, ValueError):
        raise ConfigError(
            f"TRUSTED_PROXY_COUNT: expected a whole number, got {config.get('TRUSTED_PROXY_COUNT')!r}"
        ) from None
    if hops < 0:
        raise ConfigError(f"TRUSTED_PROXY_COUNT: expected 0 or more, got {hops}")
    return hops


def check_production_config(config: dict[str, Any] | Any) -> None:
    """Refuse to run in production with a secret anyone can read in our source code."""
    if config.get("TESTING") or config.get("DEBUG"):
        return
    if config.get("SECRET_KEY") in (None, "", DEFAULT_SECRET_KEY):
        raise ConfigError(
            "SECRET_KEY is not set: set the SECRET_KEY environment variable (or put it in .env) "
            "to a long random value before running in production (FLASK_DEBUG is off)."
        )
    if DEFAULT_SECRET_KEY in (config.get("SECRET_KEY_FALLBACKS") or []):
        raise ConfigError("SECRET_KEY_FALLBACKS contains the published development key: remove it.")
    # Endpoints added in the portal each sign with their own secret; only the one configured
    # receiver (WEBHOOK_DELIVERY_URL) signs with WEBHOOK_SECRET_KEY, so only it needs a real one.
    if (
        config.get("NOTIFICATIONS_WEBHOOK_ENABLED")
        and config.get("WEBHOOK_DELIVERY_URL")
        and config.get("WEBHOOK_SECRET_KEY") in (None, "", DEFAULT_WEBHOOK_SECRET_KEY)
    ):
        raise ConfigError(
            "WEBHOOK_SECRET_KEY is not set while WEBHOOK_DELIVERY_URL receives webhooks: set "
            "WEBHOOK_SECRET_KEY to the secret that receiver verifies signatures with."
        )
    base_url = str(config.get("PUBLIC_BASE_URL") or "")
    # RFC 8058: a one-click unsubscribe link must be https.
    if config.get("NOTIFICATIONS_EMAIL_ENABLED") and not base_url.startswith("https://"):
        raise ConfigError(
            "PUBLIC_BASE_URL is not an https address while NOTIFICATIONS_EMAIL_ENABLED is on: set it to "
            "the address players reach the site at (e.g. https://leaderboards.example.com); links and "
            "one-click unsubscribe links in emails start with it."
        )
