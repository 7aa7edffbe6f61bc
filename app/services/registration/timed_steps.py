"""The registration's timed steps: payment deadlines, auto-confirmation of free entries whose
roster filled, check-in no-shows and waiting-list offers.

The rule (stated whole in app/services/registration/entries.py): an entry still unpaid when its
deadline passes is cancelled (a proof awaiting a decision stops the clock); at the check-in close
every team confirmed before the close and not checked in is a no-show; freed slots go to the
waiting list. `run_timed_steps(now)` runs them for every tournament not completed, one
transaction per tournament with something due; the notification worker calls it every few
seconds and `flask registrations tick` runs it on demand."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Entry,
    EntryPaymentStatus,
    EntryStatus,
    Registration,
    RegistrationSettings,
    Tournament,
    TournamentStatus,
)
from app.services.registration.settings import (
    check_in_window,
)
from app.services.registration.slots import (
    ALIVE,
    SLOT_HOLDING,
    audit_entry,
    confirm,
    end_entry,
    entry_state,
    fill_slots,
    lock_registration,
    resolve_now,
    roster_ok,
)


def _due_tournaments(candidates: list[RegistrationSettings], now: datetime) -> set[int]:
    """The tournaments (among `candidates`) with a step to take now. A handful of set-based
    reads whatever the number of tournaments, and no lock or write: an idle tick is cheap."""
    by_id = {settings.tournament_id: settings for settings in candidates}
    if not by_id:
        return set()
    ids = list(by_id)
    due = set(
        db.session.scalars(
            select(Entry.tournament_id)
            .where(
                Entry.tournament_id.in_(ids),
                Entry.status.in_((EntryStatus.PENDING_PAYMENT.value, EntryStatus.AWAITING_APPROVAL.value)),
                Entry.payment_status.in_((EntryPaymentStatus.NONE.value, EntryPaymentStatus.REJECTED.value)),
                Entry.payment_deadline <= now,
            )
            .distinct()
        )
    )
    counts: dict[int, dict[str, int]] = {}
    for tid, status, n in db.session.execute(
        select(Entry.tournament_id, Entry.status, func.count(Entry.id))
        .where(Entry.tournament_id.in_(ids), Entry.status.in_(ALIVE))
        .group_by(Entry.tournament_id, Entry.status)
    ):
        counts.setdefault(tid, {})[status] = n
    for tid, by_status in counts.items():
        taken = sum(n for status, n in by_status.items() if status in SLOT_HOLDING)
        if by_status.get(EntryStatus.WAITLISTED.value) and taken < by_id[tid].capacity:
            due.add(tid)
    auto_free = [t for t, s in by_id.items() if s.fee_cents == 0 and s.auto_confirm_free and t not in due]
    if auto_free:
        sizes = db.session.execute(
            select(Entry.tournament_id, func.count(Registration.id))
            .join(Registration, Registration.participant_id == Entry.participant_id)
            .where(Entry.tournament_id.in_(auto_free), Entry.status == EntryStatus.AWAITING_APPROVAL.value)
            .group_by(Entry.tournament_id, Entry.id)
        )
        due.update(t for t, size in sizes if by_id[t].roster_min <= size <= by_id[t].roster_max)
    for tid, settings in by_id.items():
        _, closes = check_in_window(settings)
        if tid in due or closes is None or now < closes:
            continue
        if db.session.scalar(
            select(Entry.id)
            .where(
                Entry.tournament_id == tid,
                Entry.status == EntryStatus.CONFIRMED.value,
                Entry.checked_in_at.is_(None),
                Entry.confirmed_at < closes,
            )
            .limit(1)
        ):
            due.add(tid)
    return due


def _steps_for(tournament_id: int, now: datetime, counts: dict[str, int]) -> None:
    settings = lock_registration(tournament_id)
    alive_unpaid = list(
        db.session.scalars(
            select(Entry)
            .where(
                Entry.tournament_id == tournament_id,
                Entry.status.in_((EntryStatus.PENDING_PAYMENT.value, EntryStatus.AWAITING_APPROVAL.value)),
                Entry.payment_status.in_((EntryPaymentStatus.NONE.value, EntryPaymentStatus.REJECTED.value)),
            )
            .order_by(Entry.id)
        )
    )
    for entry in alive_unpaid:
        before = entry_state(entry)
        if (
            entry.status == EntryStatus.AWAITING_APPROVAL.value
            and settings.fee_cents == 0
            and settings.auto_confirm_free
            and roster_ok(entry, settings)
        ):
            confirm(entry, now, None)
            audit_entry(entry, "auto_confirmed", None, before, entry_state(entry))
            counts["confirmed"] += 1
        elif entry.payment_deadline is not None and now >= entry.payment_deadline:
            end_entry(entry, EntryStatus.CANCELLED.value, "deadline", None)
            audit_entry(entry, "deadline_passed", None, before, entry_state(entry))
            counts["cancelled"] += 1
    _, closes = check_in_window(settings)
    if closes is not None and now >= closes:
        for entry in db.session.scalars(
            select(Entry)
            .where(
                Entry.tournament_id == tournament_id,
                Entry.status == EntryStatus.CONFIRMED.value,
                Entry.checked_in_at.is_(None),
                Entry.confirmed_at < closes,
            )
            .order_by(Entry.id)
        ).all():
            before = entry_state(entry)
            end_entry(entry, EntryStatus.NO_SHOW.value, "no_show", None)
            audit_entry(entry, "no_show", None, before, entry_state(entry))
            counts["no_show"] += 1
    counts["offered"] += fill_slots(settings, now)
    db.session.commit()


def run_timed_steps(now: datetime | None = None) -> dict[str, int]:
    """Deadlines, auto-confirmation of free entries whose roster filled, check-in no-shows and
    waiting-list offers, for every tournament not completed; one transaction per tournament
    that has something due (finding them costs a few reads in all). Returns what it did."""
    now = resolve_now(now)
    counts = {"cancelled": 0, "confirmed": 0, "no_show": 0, "offered": 0}
    candidates = list(
        db.session.scalars(
            select(RegistrationSettings)
            .join(Tournament, Tournament.id == RegistrationSettings.tournament_id)
            .where(Tournament.status != TournamentStatus.COMPLETED.value)
            .order_by(RegistrationSettings.id)
        )
    )
    due = _due_tournaments(candidates, now)
    db.session.rollback()  # end the read-only transaction the checks opened
    for tournament_id in sorted(due):
        try:
            _steps_for(tournament_id, now, counts)
        except Exception:
            db.session.rollback()
            raise
    return counts
