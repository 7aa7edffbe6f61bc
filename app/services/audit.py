"""The audit trail: every staff change to results, states or payments writes one event in the
same transaction as the change (so neither exists without the other)."""

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


def history(tournament_id: int, action: str | None = None) -> list[AuditEvent]:
    query = db.select(AuditEvent).where(AuditEvent.tournament_id == tournament_id)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(db.session.scalars(query.order_by(AuditEvent.id)))
