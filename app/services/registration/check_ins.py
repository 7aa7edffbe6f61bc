"""Check-in as staff see it: who has checked in, who has not, and staff checking a team in on its
behalf (a captain who messaged the organiser instead of pressing the button).

The rule: check-in exists when the settings have `check_in_minutes` and `starts_at` (the window
is `starts_at - check_in_minutes` .. `starts_at`). The teams that check in are the confirmed
entries; teams staff added directly have no entry and need no check-in. Staff may check a
confirmed team in at any time before the window closes (at the close the timed steps make every
team still not checked in a no-show, app/services/registration/timed_steps.py); checking in twice
changes nothing. A staff check-in is audited as `entry.checked_in_by_staff` with the staff member
as actor, so the log tells it apart from the captain's own `entry.checked_in`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from app.errors import Conflict
from app.extensions import db
from app.models import Entry, EntryStatus
from app.services.registration.settings import check_in_window, settings_for
from app.services.registration.slots import (
    audit_entry,
    lock_registration,
    reload_entry,
    resolve_now,
    staff_user,
)
from app.timestamps import iso_z


@dataclass
class CheckInOverview:
    opens_at: datetime
    closes_at: datetime
    state: str  # upcoming | open | closed
    # participant id -> (entry id, checked-in time or None), for the confirmed entries
    teams: dict[int, tuple[int, datetime | None]] = field(default_factory=dict)

    @property
    def checked_in(self) -> int:
        return sum(1 for _entry, at in self.teams.values() if at is not None)

    @property
    def expected(self) -> int:
        return len(self.teams)

    @property
    def can_check_in(self) -> bool:
        return self.state != "closed"


def overview(tournament_id: int, now: datetime | None = None) -> CheckInOverview | None:
    """The check-in of a tournament for the staff pages; None when it has no check-in."""
    settings = settings_for(tournament_id)
    if settings is None:
        return None
    opens, closes = check_in_window(settings)
    if opens is None or closes is None:
        return None
    now = resolve_now(now)
    state = "upcoming" if now < opens else "open" if now < closes else "closed"
    rows = db.session.execute(
        select(Entry.participant_id, Entry.id, Entry.checked_in_at).where(
            Entry.tournament_id == tournament_id,
            Entry.status == EntryStatus.CONFIRMED.value,
            Entry.participant_id.is_not(None),
        )
    ).all()
    return CheckInOverview(opens, closes, state, {pid: (eid, at) for pid, eid, at in rows})


def check_in_for_team(entry_id: int, actor_id: int, now: datetime | None = None) -> Entry:
    """Staff check a confirmed team in on its behalf (see the module docstring). Commits."""
    actor = staff_user(actor_id)
    now = resolve_now(now)
    entry = reload_entry(entry_id)
    settings = lock_registration(entry.tournament_id)
    entry = reload_entry(entry.id)
    opens, closes = check_in_window(settings)
    if opens is None or closes is None:
        db.session.rollback()
        raise Conflict("this tournament has no check-in")
    if entry.status != EntryStatus.CONFIRMED.value:
        db.session.rollback()
        raise Conflict(f"{entry.team_name} is {entry.status.replace('_', ' ')}; only confirmed teams check in")
    if entry.checked_in_at is not None:
        db.session.rollback()
        return entry
    if now >= closes:
        db.session.rollback()
        raise Conflict(f"check-in closed at {iso_z(closes)}")
    entry.checked_in_at = now
    audit_entry(entry, "checked_in_by_staff", actor.id, None, {"checked_in_at": iso_z(now)})
    db.session.commit()
    return entry
