"""A player's in-app notifications.

Rules: a player sees and changes only their own notifications (someone else's id is "not
found", never "forbidden", so ids reveal nothing). Marking read is idempotent and keeps the
first read time. Newest first.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update

from app.extensions import db
from app.models import MAX_ID, Notification, utcnow

PAGE_SIZE = 30


def unread_count(user_id: int) -> int:
    return db.session.scalar(
        select(func.count(Notification.id)).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )


@dataclass(frozen=True)
class InboxPage:
    notifications: list[Notification]
    page: int
    has_next: bool
    unread: int


def inbox_page(user_id: int, page: int = 1) -> InboxPage:
    rows = list(
        db.session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        )
    )
    return InboxPage(rows[:PAGE_SIZE], page, len(rows) > PAGE_SIZE, unread_count(user_id))


def mark_read(user_id: int, notification_id: int) -> bool:
    """False when the player has no such notification. Commits."""
    if not 1 <= notification_id <= MAX_ID:
        return False
    notification = db.session.scalar(
        select(Notification).where(Notification.id == notification_id, Notification.user_id == user_id)
    )
    if notification is None:
        return False
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.commit()
    return True


def mark_all_read(user_id: int) -> int:
    """How many were unread. Commits."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount
