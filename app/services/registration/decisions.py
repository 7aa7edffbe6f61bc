"""Staff decisions on entries: verify a proof, reject a proof or an entry, waive a fee, approve a
free entry, refund a verified fee on an entry that ended; several entries at once, one by one.

The rules are part of the entry lifecycle stated in app/services/registration/entries.py: a
reason is required to reject and to refund; an entry becomes confirmed only with a roster within
roster_min..roster_max; a confirmed entry is not rejected (its captain withdraws it); a refund is
for a verified fee on an entry that ended. A verification records the roster `Payment` through
app/services/registration/payments.py, so the Payments tab and its events stay as they were."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app import signals
from app.errors import Conflict, DomainError, NotFound, ValidationError
from app.extensions import db
from app.models import (
    Entry,
    EntryPaymentStatus,
    EntryStatus,
    Payment,
    PaymentProof,
    PaymentStatus,
    ProofStatus,
    Registration,
    is_db_id,
)
from app.services.inputs.text import storable
from app.services.registration import payments
from app.services.registration.deadlines import payment_deadline
from app.services.registration.slots import (
    ALIVE,
    ENDED,
    SLOT_HOLDING,
    audit_entry,
    check_roster,
    confirm,
    end_entry,
    entry_state,
    fill_slots,
    lock_registration,
    reload_entry,
    resolve_now,
    staff_user,
)

MAX_REASON = 1000
MAX_REFERENCE = 120
DECISIONS = ("verify", "reject", "waive", "approve", "refund")
REASON_REQUIRED = frozenset({"reject", "refund"})


def _captain_registration(entry: Entry) -> Registration:
    rows = list(
        db.session.scalars(
            select(Registration).where(Registration.participant_id == entry.participant_id).order_by(Registration.id)
        )
    )
    for row in rows:
        if row.user_id == entry.captain_id:
            return row
    if rows:
        return rows[0]
    raise Conflict(f"{entry.team_name} has nobody on its roster")


def _latest_proof(entry: Entry, status: str) -> PaymentProof | None:
    return db.session.scalars(
        select(PaymentProof)
        .where(PaymentProof.entry_id == entry.id, PaymentProof.status == status)
        .order_by(PaymentProof.id.desc())
        .limit(1)
    ).first()


def decide(
    entry_id: int,
    decision: str,
    actor_id: int,
    *,
    reason: str = "",
    reference: str = "",
    now: datetime | None = None,
) -> Entry:
    """A staff decision: verify (the submitted proof), reject (the submitted proof, or the whole
    entry when no proof awaits), waive (the fee), approve (a free entry), refund (a verified fee
    on an entry that ended). Reason required for reject and refund. Commits."""
    actor = staff_user(actor_id)
    if decision not in DECISIONS:
        raise ValidationError(f"decision: one of {', '.join(DECISIONS)}")
    if not isinstance(reason, str) or not isinstance(reference, str):
        raise ValidationError("reason: text")
    reason, reference = reason.strip(), reference.strip()
    if decision in REASON_REQUIRED and not reason:
        raise ValidationError(f"reason: required to {decision}")
    if len(reason) > MAX_REASON or not storable(reason):
        raise ValidationError(f"reason: at most {MAX_REASON} characters of text")
    if len(reference) > MAX_REFERENCE or not storable(reference):
        raise ValidationError(f"reference: at most {MAX_REFERENCE} characters of text")
    entry = db.session.get(Entry, entry_id) if is_db_id(entry_id) else None
    if entry is None:
        raise NotFound(f"no registration {entry_id}")
    now = resolve_now(now)
    settings = lock_registration(entry.tournament_id)
    entry = reload_entry(entry.id)
    before = entry_state(entry)
    done = {"reject": "rejected", "waive": "waived", "approve": "approved", "refund": "refunded"}
    refuse = Conflict(
        f"registration {entry.code} is {entry.status} (payment {entry.payment_status}); it cannot be {done[decision]}"
        if decision != "verify"
        else f"registration {entry.code} has no proof awaiting a decision"
    )
    try:
        if decision == "verify":
            proof = _latest_proof(entry, ProofStatus.SUBMITTED.value)
            if (
                entry.status != EntryStatus.PENDING_PAYMENT.value
                or entry.payment_status != EntryPaymentStatus.SUBMITTED.value
                or proof is None
            ):
                raise refuse
            check_roster(entry, settings)
            proof.status = ProofStatus.VERIFIED.value
            proof.decided_by, proof.decided_at = actor.id, now
            entry.payment_status = EntryPaymentStatus.VERIFIED.value
            payment = Payment(
                registration_id=_captain_registration(entry).id,
                amount_cents=proof.amount_cents,
                currency=proof.currency,
                method=proof.method,
                reference=proof.transaction_id,
                status=PaymentStatus.PENDING.value,
            )
            db.session.add(payment)
            db.session.flush()
            entry.payment_id = payment.id
            confirm(entry, now, actor.id)
            audit_entry(
                entry,
                "verified",
                actor.id,
                before,
                {**entry_state(entry), "proof_id": proof.id, "payment_id": payment.id},
            )
            # The same rule as a Payments-tab verification: PaymentVerification, audit,
            # payment.verified and its signal; it commits this whole transaction.
            payments.verify_payment(payment.id, actor.id)
            return entry
        if decision == "refund":
            if entry.payment_status != EntryPaymentStatus.VERIFIED.value or entry.payment_id is None:
                raise refuse
            if entry.status not in ENDED:
                raise Conflict(f"{entry.team_name} still holds its slot; a fee is refunded after the team withdraws")
            proof = _latest_proof(entry, ProofStatus.VERIFIED.value)
            if proof is not None:
                proof.status = ProofStatus.REFUNDED.value
                proof.reference = reference
            entry.payment_status = EntryPaymentStatus.REFUNDED.value
            audit_entry(
                entry, "refunded", actor.id, before, {**entry_state(entry), "reference": reference or None}, reason
            )
            payments.refund_payment(entry.payment_id, actor.id, reason)
            return entry
        if decision == "reject":
            proof = _latest_proof(entry, ProofStatus.SUBMITTED.value)
            if (
                entry.status == EntryStatus.PENDING_PAYMENT.value
                and entry.payment_status == EntryPaymentStatus.SUBMITTED.value
                and proof is not None
            ):
                proof.status = ProofStatus.REJECTED.value
                proof.decided_by, proof.decided_at, proof.reason = actor.id, now, reason
                entry.payment_status = EntryPaymentStatus.REJECTED.value
                fresh = payment_deadline(settings, now)
                if entry.payment_deadline is None or entry.payment_deadline < fresh:
                    entry.payment_deadline = fresh
                db.session.flush()
                audit_entry(
                    entry, "proof_rejected", actor.id, before, {**entry_state(entry), "proof_id": proof.id}, reason
                )
                signals.payment_rejected.send(entry, entry_id=entry.id, proof_id=proof.id, actor_id=actor.id)
            elif entry.status in ALIVE - {EntryStatus.CONFIRMED.value}:
                held = entry.status in SLOT_HOLDING
                end_entry(entry, EntryStatus.REJECTED.value, "rejected", actor.id, note=reason)
                audit_entry(entry, "rejected", actor.id, before, entry_state(entry), reason)
                if held:
                    fill_slots(settings, now)
            else:
                raise refuse
        elif decision == "waive":
            if entry.status != EntryStatus.PENDING_PAYMENT.value:
                raise refuse
            check_roster(entry, settings)
            entry.payment_status = EntryPaymentStatus.WAIVED.value
            confirm(entry, now, actor.id)
            audit_entry(entry, "fee_waived", actor.id, before, entry_state(entry), reason)
        elif decision == "approve":
            if entry.status != EntryStatus.AWAITING_APPROVAL.value:
                raise refuse
            check_roster(entry, settings)
            confirm(entry, now, actor.id)
            audit_entry(entry, "approved", actor.id, before, entry_state(entry), reason)
    except DomainError:
        db.session.rollback()
        raise
    db.session.commit()
    return entry


def decide_many(entry_ids: list[int], decision: str, actor_id: int, *, reason: str = "") -> list[Entry]:
    """The same decision on several entries, each in its own transaction (one refusal does not
    undo the others). Returns the entries decided; raises the first refusal's error only when
    none could be decided."""
    if not isinstance(entry_ids, list | tuple) or not entry_ids:
        raise ValidationError("entry_ids: choose at least one registration")
    if len(entry_ids) > 500:
        raise ValidationError("entry_ids: at most 500 at once")
    staff_user(actor_id)
    decided: list[Entry] = []
    first_error: DomainError | None = None
    for entry_id in dict.fromkeys(entry_ids):
        try:
            decided.append(decide(entry_id, decision, actor_id, reason=reason))
        except DomainError as exc:
            first_error = first_error or exc
    if not decided and first_error is not None:
        raise first_error
    return decided
