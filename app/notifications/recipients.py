"""Who hears about an event: `fan_out`, called by `outbox.emit` inside the change's transaction.

Rules (recipients are users with a Registration on a team; inactive accounts get nothing):
- payment.verified / payment.refunded: the payer, i.e. the user of the payment's registration;
  nobody for the verification of a registration's fee, which confirms the entry in the same
  transaction: its `registration.confirmed` says both (one message, not two).
- match.started / completed / disputed: for a series game, the registered users of both sides;
  for a battle-royale lobby, those of every team with a result in it (every team of the
  tournament while the lobby has no results yet, e.g. when it goes live).
- tournament.completed: the registered users of every team.
- placement.overridden: the registered users of every team whose place the override (or its
  clearing) changed: the pinned team and those that shifted to make room.
- match.corrected: the registered users of the teams whose line a correction changed.
- leaderboard.updated: nobody; it fires on every result change and is meant for webhooks.
- payment.submitted: every active staff account (in-app only: a proof waits in their queue).
- payment.rejected / registration.confirmed / registration.cancelled / registration.offered (a
  waiting-listed team offered a freed slot): the team's captain and every player on its roster
  at the moment of the change.
- tournament.announcement: every player of the event: the registered users of every team (as
  tournament.completed) and the captain of every confirmed registration (the rule of
  app/services/announcements.py, asked of the models because this layer imports no service).
Each recipient gets one in-app Notification. The events with an email template also get one
email Delivery per recipient, but only while NOTIFICATIONS_EMAIL_ENABLED is on and the recipient
has not opted out of the event's category (a transactional event, the place offer, ignores the
opt-out). Nothing here commits: the caller's commit makes the
change and what it owes durable together.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Announcement,
    Entry,
    EntryStatus,
    Match,
    MatchResult,
    Notification,
    Participant,
    Payment,
    Registration,
    Series,
    Tournament,
    User,
    is_db_id,
    not_in_event_ids,
    utcnow,
)
from app.notifications import preferences, wording
from app.notifications.models import Channel, Delivery, DeliveryStatus, OutboxEvent
from app.notifications.payloads import match_data


def _users_of_participants(participant_ids: set[int]) -> list[User]:
    if not participant_ids:
        return []
    return list(
        db.session.scalars(
            select(User)
            .join(Registration, Registration.user_id == User.id)
            .where(Registration.participant_id.in_(participant_ids), User.active.is_(True))
            .distinct()
            .order_by(User.id)
        )
    )


def _all_participants(tournament_id: int | None) -> set[int]:
    """The tournament's teams in the event (the models' `not_in_event_ids`, the same rule the
    services ask)."""
    if not is_db_id(tournament_id):
        return set()
    return set(
        db.session.scalars(
            select(Participant.id).where(
                Participant.tournament_id == tournament_id, Participant.id.not_in(not_in_event_ids(tournament_id))
            )
        )
    )


def _match_participants(match: Match) -> set[int]:
    if match.series_id is not None:
        series = match.series or db.session.get(Series, match.series_id)
        return {series.participant_a_id, series.participant_b_id}
    in_lobby = set(db.session.scalars(select(MatchResult.participant_id).where(MatchResult.match_id == match.id)))
    return in_lobby or _all_participants(match.tournament_id)


def _participant_ids(tournament_id: Any, keys: set[Any]) -> set[int]:
    keys = {k for k in keys if isinstance(k, str)}
    if not is_db_id(tournament_id) or not keys:
        return set()
    return set(
        db.session.scalars(
            select(Participant.id).where(Participant.tournament_id == tournament_id, Participant.key.in_(keys))
        )
    )


def recipients_for(
    event_type: str, data: dict[str, Any], subject: Any = None, notice: dict[str, Any] | None = None
) -> list[User]:
    """The users told about this event (see the module's rules), in id order, each once."""
    if event_type in ("payment.verified", "payment.refunded"):
        payment = subject if isinstance(subject, Payment) else None
        if payment is None and is_db_id(data.get("payment_id")):
            payment = db.session.get(Payment, data["payment_id"])
        if payment is None:
            return []
        if event_type == "payment.verified" and db.session.scalar(
            select(Entry.id).where(Entry.payment_id == payment.id).limit(1)
        ):
            # A registration's fee: verifying it confirms the entry, and that one message
            # (registration.confirmed) says both.
            return []
        user = payment.registration.user
        return [user] if user is not None and user.is_active else []
    if event_type in ("match.started", "match.completed", "match.disputed"):
        match = subject if isinstance(subject, Match) else None
        if match is None and is_db_id(data.get("match_id")):
            match = db.session.get(Match, data["match_id"])
        return _users_of_participants(_match_participants(match)) if match is not None else []
    if event_type == "tournament.completed":
        tournament_id = subject.id if isinstance(subject, Tournament) else data.get("tournament_id")
        return _users_of_participants(_all_participants(tournament_id))
    if event_type == "placement.overridden":
        keys = set((notice or {}).get("moved") or {}) | {data.get("participant_id")}
        return _users_of_participants(_participant_ids(data.get("tournament_id"), keys))
    if event_type == "match.corrected":
        keys = set((notice or {}).get("changes") or {})
        return _users_of_participants(_participant_ids(data.get("tournament_id"), keys))
    if event_type == "payment.submitted":
        return list(
            db.session.scalars(
                select(User)
                .where(User.active.is_(True), (User.is_staff.is_(True)) | (User.is_admin.is_(True)))
                .order_by(User.id)
            )
        )
    if event_type == "tournament.announcement":
        tournament_id = subject.tournament_id if isinstance(subject, Announcement) else data.get("tournament_id")
        users = {u.id: u for u in _users_of_participants(_all_participants(tournament_id))}
        if is_db_id(tournament_id):
            captains = db.session.scalars(
                select(User)
                .join(Entry, Entry.captain_id == User.id)
                .where(
                    Entry.tournament_id == tournament_id,
                    Entry.status == EntryStatus.CONFIRMED.value,
                    User.active.is_(True),
                )
            )
            for captain in captains:
                users.setdefault(captain.id, captain)
        return [users[uid] for uid in sorted(users)]
    if event_type in ("payment.rejected", "registration.confirmed", "registration.cancelled", "registration.offered"):
        entry = subject if isinstance(subject, Entry) else None
        if entry is None and is_db_id(data.get("registration_id")):
            entry = db.session.get(Entry, data["registration_id"])
        if entry is None:
            return []
        users = {u.id: u for u in _users_of_participants({entry.participant_id} if entry.participant_id else set())}
        captain = db.session.get(User, entry.captain_id)
        if captain is not None and captain.is_active:
            users.setdefault(captain.id, captain)
        return [users[uid] for uid in sorted(users)]
    return []


PERSONAL = frozenset(
    {
        "tournament.completed",
        "match.completed",
        "match.corrected",
        "placement.overridden",
        "payment.rejected",
        "registration.confirmed",
        "registration.cancelled",
        "registration.offered",
    }
)


def add_live_match_notice(user: User, tournament: Tournament, match: Match) -> Notification:
    """An inbox item telling `user` their match is live, worded like `match.started` (the demo's
    players get one; no event is sent). No commit."""
    view = wording.describe("match.started", match_data(tournament, match), user.id)
    notice = Notification(
        user_id=user.id,
        event="match.started",
        title=view.title[:200],
        body=view.body,
        url=view.path,
        tournament_id=tournament.id,
    )
    db.session.add(notice)
    return notice


def fan_out(event: OutboxEvent, subject: Any = None) -> tuple[list[Notification], list[Delivery]]:
    """Add the in-app notifications and email deliveries `event` owes (no commit)."""
    users = recipients_for(event.type, event.data or {}, subject, event.notice)
    if not users:
        return [], []
    now = utcnow()
    notifications = []
    # Worded per reader: their own final place or lobby line, their team's correction or move,
    # and for registration news whether they captain the team (who pays, who sends a proof).
    personal = event.type in PERSONAL
    shared = None if personal else wording.describe(event.type, event.data or {}, notice=event.notice)
    for user in users:
        view = shared or wording.describe(event.type, event.data or {}, user.id, notice=event.notice)
        notifications.append(
            Notification(
                user_id=user.id,
                event=event.type,
                title=view.title[:200],
                body=view.body,
                url=view.path,
                tournament_id=event.tournament_id,
                created_at=now,
            )
        )
    db.session.add_all(notifications)

    deliveries: list[Delivery] = []
    category = preferences.category_of(event.type)
    if current_app.config.get("NOTIFICATIONS_EMAIL_ENABLED") and event.type in preferences.EMAIL_EVENTS and category:
        opted_out = set()
        if event.type not in preferences.TRANSACTIONAL:
            opted_out = preferences.opted_out_user_ids([u.id for u in users], category)
        deliveries = [
            Delivery(
                outbox_event_id=event.id,
                channel=Channel.EMAIL.value,
                user_id=user.id,
                status=DeliveryStatus.PENDING.value,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            for user in users
            if user.id not in opted_out
        ]
        db.session.add_all(deliveries)
    return notifications, deliveries
