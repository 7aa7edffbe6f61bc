"""Entry-fee payments and their verification by staff.

A payment starts pending. Staff verify it (the money arrived) or reject it (it did not, with a
reason); a verified payment can later be refunded (with a reason). Nothing else: a rejected or
refunded payment is final, and a payment cannot be verified twice. Every decision is a
`PaymentVerification` row (who, when, why) plus an audit event and, for a verification or a
refund, its `payment_verified` / `payment_refunded` signal, sent before the commit so the event
is written in the same transaction.
"""

from __future__ import annotations

from sqlalchemy import update

from app import signals
from app.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.extensions import db
from app.models import (
    Entry,
    EntryPaymentStatus,
    Payment,
    PaymentStatus,
    PaymentVerification,
    Registration,
    User,
    is_db_id,
)
from app.services import audit

TRANSITIONS: dict[str, frozenset[str]] = {
    PaymentStatus.PENDING.value: frozenset({PaymentStatus.VERIFIED.value, PaymentStatus.REJECTED.value}),
    PaymentStatus.VERIFIED.value: frozenset({PaymentStatus.REFUNDED.value}),
    PaymentStatus.REJECTED.value: frozenset(),
    PaymentStatus.REFUNDED.value: frozenset(),
}
# Turning money away or giving it back needs a reason the team can be shown.
REASON_REQUIRED = frozenset({PaymentStatus.REJECTED.value, PaymentStatus.REFUNDED.value})
# A rejection is not an event: the payment never counted, so nobody outside needs telling.
_SIGNALS = {
    PaymentStatus.VERIFIED.value: signals.payment_verified,
    PaymentStatus.REFUNDED.value: signals.payment_refunded,
}


def decide_payment(payment_id: int, new_status: str, actor_id: int, reason: str = "") -> Payment:
    actor = db.session.get(User, actor_id) if isinstance(actor_id, int) else None
    if actor is None or not actor.is_active or not actor.can_staff:
        raise PermissionDenied("only staff can verify or refund payments")
    if new_status not in TRANSITIONS:
        raise ValidationError(f"status: must be one of {', '.join(TRANSITIONS)}")
    reason = (reason or "").strip()
    if new_status in REASON_REQUIRED and not reason:
        raise ValidationError(f"reason: required to mark a payment {new_status}")
    payment = db.session.get(Payment, payment_id, populate_existing=True) if is_db_id(payment_id) else None
    if payment is None:
        raise NotFound(f"no payment {payment_id}")
    before = payment.status
    if new_status not in TRANSITIONS[before]:
        raise Conflict(f"payment {payment_id} is {before}; it cannot become {new_status}")
    # Compare-and-set: of two staff deciding at once, exactly one UPDATE finds the old status
    # (SQLite has no SELECT ... FOR UPDATE, so this is what keeps a payment from being verified twice).
    moved = db.session.execute(
        update(Payment).where(Payment.id == payment.id, Payment.status == before).values(status=new_status)
    ).rowcount
    if moved != 1:
        db.session.rollback()
        raise Conflict(f"payment {payment_id} was changed by someone else just now; reload and try again")
    db.session.add(PaymentVerification(payment_id=payment.id, status=new_status, actor_id=actor.id, reason=reason))
    registration = db.session.get(Registration, payment.registration_id)
    audit.record(
        f"payment.{new_status}",
        target_type="payment",
        target_id=payment.id,
        tournament_id=registration.tournament_id,
        actor_id=actor.id,
        before={"status": before},
        after={"status": new_status},
        reason=reason or None,
    )
    if new_status == PaymentStatus.REFUNDED.value:
        # A team's registration shows its fee's state too: refunded from the Payments tab or from
        # the registration queue, both say so.
        db.session.execute(
            update(Entry).where(Entry.payment_id == payment.id).values(payment_status=EntryPaymentStatus.REFUNDED.value)
        )
    signal = _SIGNALS.get(new_status)
    if signal is not None:
        signal.send(payment, tournament_id=registration.tournament_id, payment_id=payment.id, actor_id=actor.id)
    db.session.commit()
    return payment


def verify_payment(payment_id: int, actor_id: int) -> Payment:
    return decide_payment(payment_id, PaymentStatus.VERIFIED.value, actor_id)


def reject_payment(payment_id: int, actor_id: int, reason: str) -> Payment:
    return decide_payment(payment_id, PaymentStatus.REJECTED.value, actor_id, reason)


def refund_payment(payment_id: int, actor_id: int, reason: str) -> Payment:
    return decide_payment(payment_id, PaymentStatus.REFUNDED.value, actor_id, reason)
