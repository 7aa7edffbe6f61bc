"""Writing the audit trail: one event per change, added to the change's own transaction (so
neither exists without the other). It sits below the services and the notification layer,
which both record changes; reading and exporting the trail is `app.services.audit`."""

from __future__ import annotations

from typing import Any

from app.extensions import db
from app.models import AuditEvent


def record(
    action: str,
    *,
    target_type: str,
    target_id: int,
    actor_id: int | None,
    tournament_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> AuditEvent:
    event = AuditEvent(
        action=action,
        target_type=target_type,
        target_id=target_id,
        actor_id=actor_id,
        tournament_id=tournament_id,
        before=before,
        after=after,
        reason=reason,
    )
    db.session.add(event)
    return event
