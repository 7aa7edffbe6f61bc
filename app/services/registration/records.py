"""Reading entries: the staff queue and its filters, a captain's entries and roster, payment
proofs (and who may see them), an entry's history, waiting-list positions and the API's row.
Nothing here changes an entry; the lifecycle and its rules are in app/services/registration/entries.py.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.errors import NotFound, ValidationError
from app.extensions import db
from app.models import (
    AuditEvent,
    Entry,
    EntryPaymentStatus,
    EntryStatus,
    PaymentProof,
    ProofStatus,
    Registration,
    User,
    is_db_id,
)
from app.services.registration import transactions
from app.services.registration.slots import ALIVE, ENDED, SLOT_HOLDING
from app.timestamps import iso_z

# Queue filters beyond the entry statuses: what staff look for first.
QUEUE_FILTERS = ("proof_submitted", "refund_requested")


def queue(tournament_id: int, status: str | None = None) -> list[Entry]:
    """Entries for the staff queue: proofs awaiting a decision first (oldest proof first), then
    refund requests, then everything else oldest first. `status` filters by an entry status or
    by `proof_submitted` / `refund_requested`."""
    query = select(Entry).where(Entry.tournament_id == tournament_id)
    if status:
        if status == "proof_submitted":
            query = query.where(
                Entry.payment_status == EntryPaymentStatus.SUBMITTED.value, Entry.status.in_(SLOT_HOLDING)
            )
        elif status == "refund_requested":
            query = query.where(Entry.payment_status == EntryPaymentStatus.VERIFIED.value, Entry.status.in_(ENDED))
        elif status in {s.value for s in EntryStatus}:
            query = query.where(Entry.status == status)
        else:
            raise ValidationError(f"status: one of {', '.join([s.value for s in EntryStatus] + list(QUEUE_FILTERS))}")
    # Every card shows its captain, team and proofs: loaded for all cards at once, not per card.
    query = query.options(selectinload(Entry.proofs), selectinload(Entry.captain), selectinload(Entry.participant))
    entries = list(db.session.scalars(query.order_by(Entry.created_at, Entry.id)))
    proof_times = dict(
        db.session.execute(
            select(PaymentProof.entry_id, func.max(PaymentProof.created_at))
            .join(Entry, Entry.id == PaymentProof.entry_id)
            .where(Entry.tournament_id == tournament_id, PaymentProof.status == ProofStatus.SUBMITTED.value)
            .group_by(PaymentProof.entry_id)
        ).all()
    )

    def order(entry: Entry) -> tuple:
        if entry.payment_status == EntryPaymentStatus.SUBMITTED.value and entry.status in SLOT_HOLDING:
            return (0, proof_times.get(entry.id) or entry.created_at, entry.id)
        if entry.payment_status == EntryPaymentStatus.VERIFIED.value and entry.status in ENDED:
            return (1, entry.updated_at, entry.id)
        return (2, entry.created_at, entry.id)

    return sorted(entries, key=order)


def get_entry(entry_id: Any, tournament_id: int | None = None) -> Entry:
    entry = db.session.get(Entry, entry_id) if is_db_id(entry_id) else None
    if entry is None or (tournament_id is not None and entry.tournament_id != tournament_id):
        raise NotFound(f"no registration {entry_id}")
    return entry


def entry_for_user(tournament_id: int, user_id: int) -> Entry | None:
    """The user's live entry in this tournament (as captain or roster member), else their most
    recent ended one, else None."""
    if not is_db_id(tournament_id) or not is_db_id(user_id):
        return None
    member_of = select(Registration.participant_id).where(
        Registration.user_id == user_id, Registration.tournament_id == tournament_id
    )
    rows = list(
        db.session.scalars(
            select(Entry)
            .where(
                Entry.tournament_id == tournament_id,
                (Entry.captain_id == user_id) | Entry.participant_id.in_(member_of),
            )
            .order_by(Entry.id.desc())
        )
    )
    alive = [e for e in rows if e.status in ALIVE]
    return (alive or rows or [None])[0]


def entries_for_user(user_id: int) -> list[Entry]:
    """Every entry the user captains or is on the roster of, newest first."""
    if not is_db_id(user_id):
        return []
    member_of = select(Registration.participant_id).where(Registration.user_id == user_id)
    return list(
        db.session.scalars(
            select(Entry)
            .where((Entry.captain_id == user_id) | Entry.participant_id.in_(member_of))
            .order_by(Entry.created_at.desc(), Entry.id.desc())
        )
    )


def roster_of(entry: Entry) -> list[User]:
    if entry.participant_id is None:
        return []
    return list(
        db.session.scalars(
            select(User)
            .join(Registration, Registration.user_id == User.id)
            .where(Registration.participant_id == entry.participant_id)
            .order_by(Registration.id)
        )
    )


def duplicate_transaction_entry_ids(tournament_id: int) -> set[int]:
    """Entries of this tournament carrying a transaction id that another entry (any tournament)
    also submitted with the same method (the rule: app/services/registration/transactions.py)."""
    return set(transactions.duplicates(tournament_id).entries)


def proofs_of(entry_id: int) -> list[PaymentProof]:
    """Every proof the team submitted, oldest first."""
    if not is_db_id(entry_id):
        return []
    return list(
        db.session.scalars(select(PaymentProof).where(PaymentProof.entry_id == entry_id).order_by(PaymentProof.id))
    )


def history_of(entry_id: int) -> list[AuditEvent]:
    """The entry's audit events, oldest first."""
    return histories_of([entry_id]).get(entry_id, [])


def histories_of(entry_ids: list[int]) -> dict[int, list[AuditEvent]]:
    """Audit events of many entries, oldest first, read in one query: the staff queue shows a
    history under every card, and one query per card made a 200-entry queue 200 round trips."""
    wanted = [entry_id for entry_id in entry_ids if is_db_id(entry_id)]
    found: dict[int, list[AuditEvent]] = {entry_id: [] for entry_id in wanted}
    if not wanted:
        return found
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.target_type == "entry", AuditEvent.target_id.in_(wanted))
        .order_by(AuditEvent.id)
    )
    for event in events:
        found[event.target_id].append(event)
    return found


def can_view_proof(user: Any, proof: PaymentProof) -> bool:
    """Staff, or a player of that entry's team (captain or roster)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.can_staff:
        return True
    entry = proof.entry
    if entry.captain_id == user.id:
        return True
    return (
        entry.participant_id is not None
        and db.session.scalar(
            select(Registration.id).where(
                Registration.participant_id == entry.participant_id, Registration.user_id == user.id
            )
        )
        is not None
    )


def waitlist_positions(tournament_id: int) -> dict[int, int]:
    ids = db.session.scalars(
        select(Entry.id)
        .where(Entry.tournament_id == tournament_id, Entry.status == EntryStatus.WAITLISTED.value)
        .order_by(Entry.waitlisted_at, Entry.id)
    )
    return {entry_id: position for position, entry_id in enumerate(ids, start=1)}


def to_row(entry: Entry, positions: dict[int, int] | None = None) -> dict[str, Any]:
    """The contract §7 row. Pass `positions` (waitlist_positions) when building many rows."""
    if positions is None and entry.status == EntryStatus.WAITLISTED.value:
        positions = waitlist_positions(entry.tournament_id)
    return {
        "id": entry.id,
        "code": entry.code,
        "team_name": entry.team_name,
        "tag": entry.tag,
        "status": entry.status,
        "payment_status": entry.payment_status,
        "captain_id": entry.captain_id,
        "created_at": iso_z(entry.created_at),
        "payment_deadline": iso_z(entry.payment_deadline),
        "waitlist_position": (positions or {}).get(entry.id) if entry.status == EntryStatus.WAITLISTED.value else None,
        "checked_in": entry.checked_in_at is not None,
        # The team's key in results and standings (contract §7/§8), so a client can join a
        # registration to its standings row; null until the entry has a participant.
        "participant_id": entry.participant.key if entry.participant is not None else None,
    }
