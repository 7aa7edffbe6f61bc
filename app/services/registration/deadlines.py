"""When an unpaid team must have paid: the payment deadline.

The rule: a team given a slot (registering, or offered one from the waiting list) and a team
whose proof was rejected have `payment_deadline_hours` to pay, but never past the registration
close (when the slot was given before it) nor past the start of play (`starts_at`): an unpaid
team must not hold a place through the event while the waiting list never moves. A slot given
after play started cannot be capped (both moments are past); staff see a warning on such an
entry in the queue (`warning`). When staff move the close or the start earlier, the deadlines
already running are brought forward to the new limit (`bring_forward`, under the registration
lock). The settings form shows what the deadline would be for a team registering now
(`summary`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Entry, RegistrationSettings


def limit(settings: RegistrationSettings, now: datetime) -> datetime | None:
    """The latest a deadline set now may be: the close if still ahead, else the start if still ahead."""
    for moment in (settings.closes_at, settings.starts_at):
        if moment is not None and now < moment:
            return moment
    return None


def payment_deadline(settings: RegistrationSettings, now: datetime) -> datetime:
    deadline = now + timedelta(hours=settings.payment_deadline_hours)
    cap = limit(settings, now)
    return min(deadline, cap) if cap is not None else deadline


def bring_forward(settings: RegistrationSettings, now: datetime) -> int:
    """Deadlines already running that the (new) limit passes are moved to it. Caller holds the lock."""
    cap = limit(settings, now)
    if cap is None:
        return 0
    moved = 0
    for entry in db.session.scalars(
        select(Entry).where(
            Entry.tournament_id == settings.tournament_id,
            Entry.payment_deadline.is_not(None),
            Entry.payment_deadline > cap,
        )
    ):
        entry.payment_deadline = cap
        moved += 1
    return moved


_NEVER = "but never after registration closes or play starts"


def _fmt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def summary(settings: RegistrationSettings | None, now: datetime) -> str:
    """One sentence for the settings form: the deadline a team registering now would get."""
    if settings is None:
        return f"A team pays within this many hours of getting its slot, {_NEVER}."
    full = now + timedelta(hours=settings.payment_deadline_hours)
    deadline = payment_deadline(settings, now)
    text = f"A team registering now would have until {_fmt(deadline)} to pay"
    if deadline < full:
        which = "registration closes" if deadline == settings.closes_at else "play starts"
        return f"{text}, when {which}: a deadline never runs past the close or the start of play."
    return f"{text} ({settings.payment_deadline_hours} hours; never after registration closes or play starts)."


def warning(entry: Entry, settings: RegistrationSettings | None) -> str | None:
    """What staff should know about an unpaid entry's deadline, if anything."""
    deadline = entry.payment_deadline
    if settings is None or deadline is None or settings.starts_at is None:
        return None
    if deadline > settings.starts_at:
        return (
            f"Pay-by {_fmt(deadline)} is after play starts ({_fmt(settings.starts_at)}): unpaid, this team "
            "would hold its slot through the event. Waive the fee, reject the entry or tell the team."
        )
    if deadline == settings.starts_at:
        return f"Pay-by is the start of play ({_fmt(deadline)}): tell the team it must pay before then."
    return None
