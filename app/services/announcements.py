"""Announcements: a message from staff to every team of one tournament.

Rules:
- Staff only. A subject of 1 to 150 characters on one line (it becomes an email's Subject) and a
  message of 1 to 5,000 characters of plain text (line breaks kept, shown escaped, never as HTML).
- It goes to every player of the event: each player account on one of the tournament's teams
  (the teams staff added and the confirmed registrations, `roster_visibility`) and the captain of
  each confirmed registration, once each, active accounts only. Teams still paying, waiting or
  turned away are not in the event and are not told. With nobody to tell, it is refused.
- Each recipient gets an inbox item and, while email is on, an email in the "tournaments"
  category (an announcement is news about a tournament they play in, like its final results),
  unless they turned that category off: the `tournament_announced` signal, which the
  notification layer turns into the outbox event `tournament.announcement` (people only, never a
  webhook: the message is for the players, and the webhook types are a published list).
- The form carries a one-time token: sending the same form twice (a double click, a resent POST,
  two workers) sends one announcement; the second answer names the first.
- One transaction: the announcement, its audit event `tournament.announced` (subject, message,
  how many were told) and what the signal owes commit together.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from sqlalchemy import func, select, union
from sqlalchemy.exc import IntegrityError

from app import signals
from app.errors import Conflict, PermissionDenied, ValidationError
from app.extensions import db
from app.models import Announcement, Entry, EntryStatus, Participant, Registration, Tournament, User
from app.services import audit
from app.services.inputs.text import check_name, storable
from app.services.registration.roster_visibility import is_visible
from app.services.tournaments.lookup import get_tournament

MAX_SUBJECT = 150
MAX_BODY = 5000
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")


def new_token() -> str:
    return secrets.token_urlsafe(24)


def audience_ids(tournament_id: int) -> list[int]:
    """The ids of the accounts an announcement reaches (the module's rule), in id order."""
    players = (
        select(Registration.user_id)
        .join(Participant, Participant.id == Registration.participant_id)
        .where(Participant.tournament_id == tournament_id, is_visible(Participant.id, tournament_id))
    )
    captains = select(Entry.captain_id).where(
        Entry.tournament_id == tournament_id, Entry.status == EntryStatus.CONFIRMED.value
    )
    everyone = union(players, captains).subquery()
    return list(
        db.session.scalars(
            select(User.id).where(User.id.in_(select(everyone.c[0])), User.active.is_(True)).order_by(User.id)
        )
    )


def audience_summary(tournament_id: int) -> tuple[int, int]:
    """(players, teams) an announcement would reach now, for the form."""
    teams = db.session.scalar(
        select(func.count(Participant.id)).where(
            Participant.tournament_id == tournament_id, is_visible(Participant.id, tournament_id)
        )
    )
    return len(audience_ids(tournament_id)), teams or 0


def _clean(subject: Any, body: Any) -> tuple[str, str]:
    if not isinstance(subject, str) or not subject.strip():
        raise ValidationError("subject: required")
    check_name(subject, "subject")
    subject = " ".join(subject.split())
    if len(subject) > MAX_SUBJECT or not storable(subject):
        raise ValidationError(f"subject: at most {MAX_SUBJECT} characters of text")
    if not isinstance(body, str) or not body.strip():
        raise ValidationError("message: required")
    body = body.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(body) > MAX_BODY:
        raise ValidationError(f"message: at most {MAX_BODY:,} characters (found {len(body):,})")
    if not storable(body):
        raise ValidationError("message: contains a NUL character or an unpaired surrogate")
    for ch in body:
        if (ord(ch) < 32 and ch not in "\n\t") or 127 <= ord(ch) < 160:
            raise ValidationError(f"message: contains a control character (U+{ord(ch):04X}); use plain text")
    return subject, body


def history(tournament_id: int) -> list[Announcement]:
    return list(
        db.session.scalars(
            select(Announcement)
            .where(Announcement.tournament_id == tournament_id)
            .order_by(Announcement.created_at.desc(), Announcement.id.desc())
        )
    )


def announce(ref: int | str, subject: Any, body: Any, token: Any, actor_id: int | None) -> tuple[Announcement, bool]:
    """Send an announcement to the tournament's players (the module's rules). Returns it and
    True, or the announcement already sent with this form's token and False. Commits."""
    actor = db.session.get(User, actor_id) if isinstance(actor_id, int) else None
    if actor is None or not actor.is_active or not actor.can_staff:
        raise PermissionDenied("only staff send announcements")
    tournament: Tournament = get_tournament(ref)
    if not isinstance(token, str) or not _TOKEN_RE.fullmatch(token):
        raise ValidationError("token: the form expired; reload the page and send it again")
    sent = db.session.scalar(select(Announcement).where(Announcement.token == token))
    if sent is not None:
        return sent, False
    subject, body = _clean(subject, body)
    audience = audience_ids(tournament.id)
    if not audience:
        raise Conflict(
            "nobody to tell yet: no confirmed team of this tournament has a player account on it "
            "(teams added by staff are told once their players join with the team's join code)"
        )
    announcement = Announcement(
        tournament_id=tournament.id,
        author_id=actor.id,
        subject=subject,
        body=body,
        recipients=len(audience),
        token=token,
    )
    db.session.add(announcement)
    try:
        db.session.flush()
    except IntegrityError:  # the same form, sent at the same moment by another request
        db.session.rollback()
        sent = db.session.scalar(select(Announcement).where(Announcement.token == token))
        if sent is None:
            raise
        return sent, False
    audit.record(
        "tournament.announced",
        target_type="announcement",
        target_id=announcement.id,
        tournament_id=tournament.id,
        actor_id=actor.id,
        after={"subject": subject, "message": body, "recipients": len(audience)},
    )
    signals.tournament_announced.send(
        announcement, tournament_id=tournament.id, announcement_id=announcement.id, actor_id=actor.id
    )
    db.session.commit()
    return announcement, True
