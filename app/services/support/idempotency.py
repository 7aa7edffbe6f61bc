"""`Idempotency-Key` for API writes that create something (a lobby).

Rules:
- A key is 1-255 printable ASCII characters, chosen by the caller and scoped to them (the user
  behind the token or session): two callers never see each other's keys.
- The first request with a key is carried out, and its successful answer (status and body) is
  stored in the same transaction as what it created, so either both exist or neither does.
- The same key again with the same request (method, address and JSON body, compared after
  parsing, so whitespace and key order do not matter) gets the stored answer again, and nothing
  is done twice. The same key with a different request is refused (409).
- A request that fails stores nothing: the caller may fix it and send it again under the same key.
- Two identical requests at the same moment: the database's unique (caller, key) makes the
  second wait for the first and then replay its answer.
- Keys expire after `TTL` (24 hours); expired keys are deleted whenever a new key is stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict, ValidationError
from app.extensions import db
from app.models import IdempotencyRecord, utcnow

TTL = timedelta(hours=24)
MAX_KEY = 255


@dataclass(frozen=True)
class Replay:
    status: int
    body: str


def check_key(raw: str) -> str:
    if not raw or len(raw) > MAX_KEY or not all(" " < ch <= "~" for ch in raw):
        raise ValidationError(f"Idempotency-Key: 1 to {MAX_KEY} printable ASCII characters without spaces")
    return raw


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def _stored(scope: str, key: str, now: datetime) -> IdempotencyRecord | None:
    return db.session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.scope == scope, IdempotencyRecord.key == key, IdempotencyRecord.expires_at > now
        )
    )


def _verdict(record: IdempotencyRecord, print_: str) -> Replay:
    if record.fingerprint != print_:
        raise Conflict("Idempotency-Key: this key was used for a different request; use a new key")
    if record.status_code is None or record.body is None:  # pragma: no cover - stored with its answer
        raise Conflict("Idempotency-Key: the first request with this key is still in progress; retry")
    return Replay(record.status_code, record.body)


def claim(scope: str, key: str, print_: str, now: datetime | None = None) -> Replay | IdempotencyRecord:
    """The stored answer to replay, or a new record (flushed, not committed) to complete with
    `complete` in the transaction that does the work."""
    now = now or utcnow()
    found = _stored(scope, key, now)
    if found is not None:
        return _verdict(found, print_)
    db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= now))
    record = IdempotencyRecord(scope=scope, key=key, fingerprint=print_, created_at=now, expires_at=now + TTL)
    db.session.add(record)
    try:
        db.session.flush()
    except IntegrityError:
        # The same key is being (or was just) used by a concurrent request of the same caller.
        db.session.rollback()
        found = _stored(scope, key, now)
        if found is None:  # pragma: no cover - it failed and stored nothing: the caller may retry
            raise Conflict("Idempotency-Key: a concurrent request with this key failed; retry") from None
        return _verdict(found, print_)
    return record


def completer(record: IdempotencyRecord, answer: Callable[[Any], tuple[int, Any]]) -> Callable[[Any], None]:
    """A `before_commit` hook storing the answer `answer(created)` gives."""

    def complete(created: Any) -> None:
        status, payload = answer(created)
        record.status_code = status
        record.body = json.dumps(payload, separators=(",", ":"))

    return complete
