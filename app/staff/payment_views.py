"""Entry-fee payments of one tournament: who registered, what they paid, and staff decisions
(verify, reject or refund with a note) through `services.payments`."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.errors import DomainError
from app.extensions import db
from app.models import Payment, Registration, Tournament
from app.services.registration import payments
from app.staff import bp
from app.staff.common import actor, load, status_for
from app.staff.forms import PaymentForm, storable_form
from app.staff.registration_forms import METHOD_LABELS


def payments_page(
    tournament: Tournament,
    status: int = 200,
    error: str | None = None,
    failed: int | None = None,
    form: PaymentForm | None = None,
):
    registrations = list(
        db.session.scalars(
            select(Registration)
            .where(Registration.tournament_id == tournament.id)
            .options(selectinload(Registration.participant), selectinload(Registration.user))
            .order_by(Registration.id)
        )
    )
    by_registration: dict[int, list[Payment]] = {}
    if registrations:
        rows = db.session.scalars(
            select(Payment)
            .where(Payment.registration_id.in_([r.id for r in registrations]))
            .options(selectinload(Payment.verifications))
            .order_by(Payment.id)
        )
        for payment in rows:
            by_registration.setdefault(payment.registration_id, []).append(payment)
    page = render_template(
        "staff/tournaments/payments.html",
        tournament=tournament,
        registrations=registrations,
        payments=by_registration,
        transitions=payments.TRANSITIONS,
        reason_required=payments.REASON_REQUIRED,
        method_labels=METHOD_LABELS,
        form=form or PaymentForm(formdata=None),
        error=error,
        failed=failed,
    )
    return page, status


@bp.get("/tournaments/<slug>/payments/")
def payments_list(slug: str):
    return payments_page(load(slug))


@bp.post("/tournaments/<slug>/payments/<dbid:payment_id>")
def payment_decide(slug: str, payment_id: int):
    tournament = load(slug)
    form = PaymentForm()
    payment = db.session.get(Payment, payment_id)
    registration = db.session.get(Registration, payment.registration_id) if payment else None
    if registration is None or registration.tournament_id != tournament.id:
        return payments_page(tournament, 404, f"no payment {payment_id} in {tournament.slug}")
    if not form.validate_on_submit() or not storable_form(form):
        errors = "; ".join(f"{k}: {', '.join(v)}" for k, v in form.errors.items())
        return payments_page(tournament, 400, errors or "The form expired; try again.", payment_id, form)
    try:
        payments.decide_payment(payment_id, form.status.data, actor(), form.note.data or "")
    except DomainError as exc:
        db.session.rollback()
        return payments_page(load(slug), status_for(exc), exc.message, payment_id, form)
    flash(f"Payment {payment_id} is now {form.status.data}.", "success")
    return redirect(url_for("staff.payments_list", slug=slug))
