"""The slots of a tournament's registration: what holds one, the lock every step takes, and the
moves every step shares (confirm, end, offer a freed slot to the waiting list).

The rule (the whole lifecycle is stated in app/services/registration/entries.py): `pending_payment`,
`awaiting_approval` and `confirmed` hold a slot and at most `capacity` entries do; the count is
taken under the registration lock (an UPDATE of the settings row, which PostgreSQL holds as a row
lock and SQLite as its write lock until the commit), so capacity is never exceeded however many
captains press Register at once. Whenever a slot frees, the first waiting-listed team is offered
it. An entry that ends releases its roster (a registration carrying a payment is kept for its
refund) and its join code."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from app import signals
from app.errors import Conflict, NotFound, PermissionDenied
from app.extensions import db
from app.models import (
    Entry,
    EntryStatus,
    Payment,
    Registration,
    RegistrationSettings,
    TeamJoinCode,
    Tournament,
    TournamentStatus,
    User,
    is_db_id,
    utcnow,
)
from app.services import audit
from app.services.registration.deadlines import payment_deadline
from app.timestamps import iso_z

SLOT_HOLDING = frozenset(
    {EntryStatus.PENDING_PAYMENT.value, EntryStatus.AWAITING_APPROVAL.value, EntryStatus.CONFIRMED.value}
)
ALIVE = SLOT_HOLDING | {EntryStatus.WAITLISTED.value}
ENDED = frozenset(
    {EntryStatus.REJECTED.value, EntryStatus.CANCELLED.value, EntryStatus.WITHDRAWN.value, EntryStatus.NO_SHOW.value}
)


def resolve_now(now: datetime | None) -> datetime:
    return now or utcnow()


def active_user(user_id: Any) -> User:
    user = db.session.get(User, user_id) if is_db_id(user_id) else None
    if user is None or not user.is_active:
        raise PermissionDenied("log in to do this")
    return user


def staff_user(actor_id: Any) -> User:
    user = db.session.get(User, actor_id) if is_db_id(actor_id) else None
    if user is None or not user.is_active or not user.can_staff:
        raise PermissionDenied("only staff can do this")
    return user


def get_tournament(tournament_id: Any) -> Tournament:
    tournament = db.session.get(Tournament, tournament_id) if is_db_id(tournament_id) else None
    if tournament is None:
        raise NotFound(f"no tournament {tournament_id}")
    return tournament


def lock_registration(tournament_id: int) -> RegistrationSettings:
    """Take the tournament's registration lock for this transaction and return the settings as
    the previous holder committed them (see the module docstring)."""
    settings_id = db.session.execute(
        update(RegistrationSettings)
        .where(RegistrationSettings.tournament_id == tournament_id)
        .values(lock_version=RegistrationSettings.lock_version + 1)
        .returning(RegistrationSettings.id)
    ).scalar_one_or_none()
    if settings_id is None:
        raise Conflict("registration is not set up for this tournament")
    return db.session.get(RegistrationSettings, settings_id, populate_existing=True)


def reload_entry(entry_id: Any) -> Entry:
    entry = db.session.get(Entry, entry_id, populate_existing=True) if is_db_id(entry_id) else None
    if entry is None:
        raise NotFound(f"no registration {entry_id}")
    return entry


def slots_taken(tournament_id: int) -> int:
    return db.session.scalar(
        select(func.count(Entry.id)).where(Entry.tournament_id == tournament_id, Entry.status.in_(SLOT_HOLDING))
    )


def roster_size(entry: Entry) -> int:
    if entry.participant_id is None:
        return 0
    return db.session.scalar(
        select(func.count(Registration.id)).where(Registration.participant_id == entry.participant_id)
    )


def check_roster(entry: Entry, settings: RegistrationSettings) -> None:
    size = roster_size(entry)
    if not settings.roster_min <= size <= settings.roster_max:
        wanted = (
            f"exactly {settings.roster_min}"
            if settings.roster_min == settings.roster_max
            else f"{settings.roster_min} to {settings.roster_max}"
        )
        raise Conflict(
            f"{entry.team_name} has {size} player{'s' if size != 1 else ''} on its roster; this tournament "
            f"needs {wanted}. Teammates join with the team's join code."
        )


def roster_ok(entry: Entry, settings: RegistrationSettings) -> bool:
    return settings.roster_min <= roster_size(entry) <= settings.roster_max


def audit_entry(
    entry: Entry, action: str, actor_id: int | None, before: dict | None, after: dict | None, reason: str | None = None
) -> None:
    audit.record(
        f"entry.{action}",
        target_type="entry",
        target_id=entry.id,
        actor_id=actor_id,
        tournament_id=entry.tournament_id,
        before=before,
        after=after,
        reason=reason or None,
    )


def entry_state(entry: Entry) -> dict[str, Any]:
    return {"status": entry.status, "payment_status": entry.payment_status}


def confirm(entry: Entry, now: datetime, actor_id: int | None) -> None:
    entry.status = EntryStatus.CONFIRMED.value
    entry.confirmed_at = now
    entry.payment_deadline = None
    db.session.flush()
    signals.registration_confirmed.send(entry, entry_id=entry.id, actor_id=actor_id)


def end_entry(entry: Entry, status: str, reason: str, actor_id: int | None, note: str | None = None) -> None:
    """Move an entry to an end state: roster released (a registration carrying a payment is
    kept for its refund), join code dropped, `registration.cancelled` owed. `note`: staff's own
    words (a rejection's reason), kept for the captain. The signal says whether the slot goes to
    a waiting-listed team: every caller offers it (`fill_slots`) in this transaction, so the
    team is told only what is true."""
    held = entry.status in SLOT_HOLDING
    entry.status = status
    entry.end_reason = reason
    entry.end_note = note or None
    entry.payment_deadline = None
    db.session.flush()
    passed_on = False
    if held and db.session.get(Tournament, entry.tournament_id).status != TournamentStatus.COMPLETED.value:
        # Several entries may end in one transaction before the waiting list moves: this one's
        # slot is passed on only if the list is longer than the slots freed so far.
        settings = db.session.scalar(
            select(RegistrationSettings).where(RegistrationSettings.tournament_id == entry.tournament_id)
        )
        waiting = db.session.scalar(
            select(func.count(Entry.id)).where(
                Entry.tournament_id == entry.tournament_id, Entry.status == EntryStatus.WAITLISTED.value
            )
        )
        free = (settings.capacity if settings is not None else 0) - slots_taken(entry.tournament_id)
        passed_on = free > 0 and waiting >= free
    if entry.participant_id is not None:
        db.session.execute(db.delete(TeamJoinCode).where(TeamJoinCode.participant_id == entry.participant_id))
        paid = select(Payment.registration_id)
        db.session.execute(
            db.delete(Registration).where(
                Registration.participant_id == entry.participant_id, Registration.id.not_in(paid)
            )
        )
    db.session.flush()
    signals.registration_cancelled.send(
        entry, entry_id=entry.id, actor_id=actor_id, reason=reason, passed_on=passed_on, note=entry.end_note
    )


def start_unconfirmed(entry: Entry, settings: RegistrationSettings, now: datetime, actor_id: int | None) -> None:
    """A team that just got a slot (new or offered from the waiting list)."""
    if settings.fee_cents > 0:
        entry.status = EntryStatus.PENDING_PAYMENT.value
        entry.payment_deadline = payment_deadline(settings, now)
        return
    entry.status = EntryStatus.AWAITING_APPROVAL.value
    if settings.auto_confirm_free:
        if roster_ok(entry, settings):
            confirm(entry, now, actor_id)
        else:
            entry.payment_deadline = payment_deadline(settings, now)
    else:
        entry.payment_deadline = None


def fill_slots(settings: RegistrationSettings, now: datetime) -> int:
    """Offer free slots to the waiting list, first come first served. Caller holds the lock."""
    tournament = db.session.get(Tournament, settings.tournament_id)
    if tournament.status == TournamentStatus.COMPLETED.value:
        return 0
    offered = 0
    free = settings.capacity - slots_taken(settings.tournament_id)
    while free > 0:
        entry = db.session.scalars(
            select(Entry)
            .where(Entry.tournament_id == settings.tournament_id, Entry.status == EntryStatus.WAITLISTED.value)
            .order_by(Entry.waitlisted_at, Entry.id)
            .limit(1)
        ).first()
        if entry is None:
            break
        before = entry_state(entry)
        start_unconfirmed(entry, settings, now, None)
        audit_entry(
            entry,
            "offered_slot",
            None,
            before,
            {**entry_state(entry), "payment_deadline": iso_z(entry.payment_deadline)},
        )
        db.session.flush()
        if entry.status != EntryStatus.CONFIRMED.value:  # a confirmation announces itself
            signals.registration_offered.send(entry, entry_id=entry.id)
        free -= 1
        offered += 1
    return offered
