"""Endpoint secrets at rest: encrypted with Fernet, so a copy of the database (a backup, a
read replica, a leaked dump) does not hand out the keys that sign our webhooks.

Rules:
- WEBHOOK_SECRET_KEYS is a comma-separated list of Fernet keys. The FIRST key encrypts; every
  key decrypts (MultiFernet). Empty: one key derived from SECRET_KEY, so a fresh install works,
  but then changing SECRET_KEY makes the stored secrets unreadable: production sets its own keys.
- Rotation: put a new key first, keep the old ones after it, run `flask outbox reencrypt`
  (every secret re-encrypted under the first key), then drop the old keys.
- A secret that no configured key can open reads back as "" (and the worker reports that on the
  delivery) rather than breaking every page that lists endpoints.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

# Cached per key setting: building the Fernet objects is cheap but not free, and the worker
# opens secrets on every claim.
_CACHE: dict[tuple[str, str], MultiFernet] = {}


class BadKeys(ValueError):
    """WEBHOOK_SECRET_KEYS holds something that is not a Fernet key."""


def parse_keys(raw: str, secret_key: str) -> list[bytes]:
    keys = [k.strip() for k in (raw or "").replace("\n", ",").split(",") if k.strip()]
    if not keys:
        digest = hashlib.sha256(b"deltacrown webhook secrets\x00" + secret_key.encode("utf-8")).digest()
        return [base64.urlsafe_b64encode(digest)]
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            raise BadKeys(
                f"WEBHOOK_SECRET_KEYS: key {position} is not a Fernet key (32 url-safe base64 bytes); "
                "make one with `flask outbox new-key`"
            ) from None
    return [k.encode("ascii") for k in keys]


def box(config: Any = None) -> MultiFernet:
    config = current_app.config if config is None else config
    raw = config.get("WEBHOOK_SECRET_KEYS") or ""
    secret_key = str(config.get("SECRET_KEY") or "")
    cached = _CACHE.get((raw, secret_key))
    if cached is None:
        cached = _CACHE[(raw, secret_key)] = MultiFernet([Fernet(k) for k in parse_keys(raw, secret_key)])
    return cached


def seal(plain: str, config: Any = None) -> str:
    return box(config).encrypt(plain.encode("utf-8")).decode("ascii")


def open_(token: str, config: Any = None) -> str:
    """The plain secret, or "" when no configured key opens it."""
    try:
        return box(config).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        current_app.logger.error("a webhook secret cannot be decrypted with WEBHOOK_SECRET_KEYS")
        return ""


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def reseal(token: str, config: Any = None) -> str:
    """The same secret encrypted under the first key (MultiFernet.rotate)."""
    return box(config).rotate(token.encode("ascii")).decode("ascii")


class SealedText(TypeDecorator):
    """A column whose Python value is the plain secret and whose stored value is its Fernet token."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else seal(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else open_(value)
