"""Registration from the staff side: the settings of a tournament's registration and the queue
of entries (verify / reject / waive / approve / refund, several at once, CSV export).

Views parse the form, call `app.services.registration.entries` (the rules, their messages and the audit log
live there) and render. Refunding cannot be undone, so it always goes through a confirm page
(`GET .../refund`), which htmx loads into the entry's card instead of navigating; with
JavaScript off it is an ordinary page.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from jinja2_fragments.flask import render_block
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.confirmation import is_confirmed
from app.errors import DomainError
from app.extensions import db
from app.models import Entry, EntryPaymentStatus, EntryStatus, PaymentProof, Registration, Tournament, utcnow
from app.services.registration import (
    check_ins,
    deadlines,
    decisions,
    fee_totals,
    public_view,
    settings_save,
    slots,
    transactions,
)
from app.services.registration import records as entry_records
from app.services.registration.settings import settings_for, settings_to_json
from app.services.support.spreadsheet import safe_cell
from app.staff import bp
from app.staff.common import actor, load, status_for
from app.staff.forms import ActionForm, attach_error, storable_form
from app.staff.registration_forms import (
    METHOD_LABELS,
    METHODS,
    BulkForm,
    DecisionForm,
    RefundForm,
    RegistrationSettingsForm,
    fill_from_settings,
    settings_payload,
)

QUEUE_TEMPLATE = "staff/registrations/queue.html"
REFUND_TEMPLATE = "staff/registrations/refund.html"
# The queue filters: what staff look for first, then every entry status.
STATUSES = [*entry_records.QUEUE_FILTERS, *(s.value for s in EntryStatus)]
FILTER_LABELS = {"proof_submitted": "Proof awaiting a decision", "refund_requested": "Refund requested"}
DECISION_LABELS = {"verify": "Verify", "reject": "Reject", "waive": "Waive fee", "approve": "Approve"}
CSV_COLUMNS = (
    "code",
    "team_name",
    "tag",
    "status",
    "payment_status",
    "captain",
    "captain_email",
    "created_at",
    "payment_deadline",
    "waitlist_position",
    "checked_in",
    "method",
    "transaction_id",
    "amount",
    "currency",
    "sender_last_digits",
    "proof_status",
    "duplicate_transaction",
)


# --------------------------------------------------------------------------- settings


@bp.route("/tournaments/<slug>/registration", methods=["GET", "POST"])
def registration_settings(slug: str):
    tournament = load(slug)
    form = RegistrationSettingsForm()
    stored = settings_for(tournament.id)
    if request.method == "GET":
        if stored is not None:
            fill_from_settings(form, settings_to_json(stored))
        return _settings_page(tournament, form, stored)
    if form.validate_on_submit() and storable_form(form):
        try:
            settings_save.save_settings(tournament.id, settings_payload(form), actor())
        except DomainError as exc:
            db.session.rollback()
            attach_error(form, exc)
            return _settings_page(load(slug), form, stored, status_for(exc))
        flash("Registration settings saved.", "success")
        return redirect(url_for("staff.registration_settings", slug=slug))
    return _settings_page(tournament, form, stored, 400)


def _settings_page(tournament: Tournament, form: RegistrationSettingsForm, stored: Any, status: int = 200):
    view = public_view.public_state(tournament)
    form.payment_deadline_hours.description = deadlines.summary(stored, utcnow())
    page = render_template(
        "staff/registrations/settings.html",
        tournament=tournament,
        form=form,
        stored=stored,
        methods=METHODS,
        view=view,
    )
    return page, status


# --------------------------------------------------------------------------- the queue


def _status_filter() -> str | None:
    status = request.args.get("status") or None
    if status is not None and status not in STATUSES:
        abort(400, f"status: one of {', '.join(STATUSES)}")
    return status


def _rosters(rows: list[Entry]) -> dict[int, list[Registration]]:
    """Players on each entry's team, in one query for the whole queue."""
    participant_ids = [e.participant_id for e in rows if e.participant_id]
    rosters: dict[int, list[Registration]] = {}
    if participant_ids:
        found = db.session.scalars(
            select(Registration)
            .where(Registration.participant_id.in_(participant_ids))
            .options(selectinload(Registration.user))
            .order_by(Registration.id)
        )
        for registration in found:
            rosters.setdefault(registration.participant_id, []).append(registration)
    return rosters


def _queue_context(tournament: Tournament, status: str | None, **extra: Any) -> dict[str, Any]:
    rows = entry_records.queue(tournament.id, status)
    settings = settings_for(tournament.id)
    duplicates = transactions.duplicates(tournament.id)
    actions = {entry.id: _actions(entry) for entry in rows}
    totals = fee_totals.totals(tournament.id)
    return {
        "can_bulk": any("verify" in allowed for allowed in actions.values()),
        "flagged_proofs": duplicates.proofs,
        "tournament": tournament,
        "rows": rows,
        "status": status,
        "statuses": STATUSES,
        "filter_labels": FILTER_LABELS,
        "duplicates": duplicates.entries,
        "twins": duplicates.of,
        "rosters": _rosters(rows),
        "histories": entry_records.histories_of([entry.id for entry in rows]),
        "actions": actions,
        "positions": entry_records.waitlist_positions(tournament.id),
        "settings": settings,
        "fee_totals": totals,
        "fee_sums": fee_totals.currency_totals(totals),
        "check_in": check_ins.overview(tournament.id),
        "deadline_warnings": {
            e.id: deadlines.warning(e, settings) for e in rows if e.status == EntryStatus.PENDING_PAYMENT
        },
        "method_labels": METHOD_LABELS,
        "labels": DECISION_LABELS,
        "form": DecisionForm(formdata=None),
        "bulk_form": BulkForm(formdata=None),
        **extra,
    }


def _actions(entry: Entry) -> list[str]:
    """Which buttons the card offers: the decisions `decisions.decide` accepts in the entry's
    state (its docstring), so staff are not shown buttons that can only be refused. The service
    still decides: a click from a stale page gets its message."""
    status, payment = entry.status, entry.payment_status
    actions = []
    if status == EntryStatus.PENDING_PAYMENT and payment == EntryPaymentStatus.SUBMITTED:
        actions.append("verify")
    if status == EntryStatus.AWAITING_APPROVAL:
        actions.append("approve")
    if status == EntryStatus.PENDING_PAYMENT:
        actions.append("waive")
    if status in slots.ALIVE and status != EntryStatus.CONFIRMED:
        actions.append("reject")
    if payment == EntryPaymentStatus.VERIFIED and status in slots.ENDED:
        actions.append("refund")
    return actions


@bp.get("/tournaments/<slug>/registrations/")
def registrations(slug: str):
    tournament = load(slug)
    return render_template(QUEUE_TEMPLATE, **_queue_context(tournament, _status_filter()))


def _entry_of(tournament: Tournament, entry_id: int) -> Entry:
    entry = db.session.get(Entry, entry_id)
    if entry is None or entry.tournament_id != tournament.id:
        abort(404, f"no registration {entry_id} in {tournament.slug}")
    return entry


def _back(slug: str, entry_id: int | None = None) -> str:
    status = request.args.get("status")
    url = url_for("staff.registrations", slug=slug, status=status if status in STATUSES else None)
    return url + (f"#entry-{entry_id}" if entry_id else "")


@bp.post("/tournaments/<slug>/registrations/<dbid:entry_id>/decision")
def registration_decide(slug: str, entry_id: int):
    tournament = load(slug)
    entry = _entry_of(tournament, entry_id)
    form = DecisionForm()
    if not form.validate_on_submit() or not storable_form(form) or form.decision.data not in DECISION_LABELS:
        context = _queue_context(tournament, None, error="The form expired or was incomplete; try again.")
        return render_template(QUEUE_TEMPLATE, **context), 400
    decision = form.decision.data
    if decision == "verify" and not is_confirmed():
        twins = transactions.duplicates(tournament.id).of(entry.id)
        if twins:
            return _verify_flagged_page(tournament, entry, twins)
    try:
        decided = decisions.decide(entry.id, decision, actor(), reason=(form.reason.data or "").strip())
    except DomainError as exc:
        db.session.rollback()
        context = _queue_context(load(slug), None, error=f"{entry.team_name}: {exc.message}", failed=entry_id)
        return render_template(QUEUE_TEMPLATE, **context), status_for(exc)
    flash(_decided_sentence(decided, decision), "success")
    return redirect(_back(slug, entry_id))


def _verify_flagged_page(tournament: Tournament, entry: Entry, twins: str):
    """A proof whose transaction ID another team also sent is verified only after staff confirm
    they checked it (app/confirmation.py): one transfer pays for one team."""
    proof = entry.proofs[-1] if entry.proofs else None
    shown = f" {proof.transaction_id}" if proof else ""
    context = {
        "title": f"Verify the payment of {entry.team_name}?",
        "consequences": [
            f"The transaction ID{shown} was also sent by {twins}.",
            "One transfer pays for one team: check your statement for a payment with this ID and this "
            "amount before verifying. If the other team's proof is the genuine one, reject this one instead.",
            f"Verifying confirms {entry.team_name} ({entry.code}) and tells the team.",
        ],
        "blockers": [],
        "action": url_for("staff.registration_decide", slug=tournament.slug, entry_id=entry.id),
        "cancel_url": _back(tournament.slug, entry.id),
        "confirm_label": "I checked: verify",
        "back_label": "Back to the queue",
        "hidden": {"decision": "verify"},
    }
    return render_template("staff/tournaments/confirm.html", tournament=tournament, form=ActionForm(), **context)


def _decided_sentence(entry: Entry, decision: str) -> str:
    """What a decision did, as a sentence staff can read back (not "verify done.")."""
    team = f"{entry.team_name} ({entry.code})"
    if decision == "reject" and entry.status != EntryStatus.REJECTED:
        return f"Payment proof of {team} rejected; the team keeps its slot and can send a corrected proof."
    sentences = {
        "verify": f"Payment of {team} verified: the team is confirmed.",
        "waive": f"Entry fee of {team} waived: the team is confirmed.",
        "approve": f"{team} approved: the team is confirmed.",
        "reject": f"Registration of {team} rejected; the team is told.",
    }
    return sentences[decision]


@bp.post("/tournaments/<slug>/registrations/verify")
def registrations_verify_many(slug: str):
    tournament = load(slug)
    form = BulkForm()
    raw = request.form.getlist("entry")
    ids = [int(value) for value in raw if value.isascii() and value.isdigit() and len(value) <= 9]
    if not form.validate_on_submit() or len(ids) != len(raw):
        context = _queue_context(tournament, None, error="The form expired or was incomplete; try again.")
        return render_template(QUEUE_TEMPLATE, **context), 400
    if not ids:
        context = _queue_context(tournament, None, error="Tick the registrations to verify first.")
        return render_template(QUEUE_TEMPLATE, **context), 400
    for entry_id in ids:
        _entry_of(tournament, entry_id)
    # A proof whose transaction ID another team also sent is verified on its own, after a confirm.
    flagged = set(transactions.duplicates(tournament.id).entries)
    held = [i for i in dict.fromkeys(ids) if i in flagged]
    ids = [i for i in ids if i not in flagged]
    if held:
        names = ", ".join(_entry_of(tournament, i).team_name for i in held)
        flash(f"Not verified: {names}: transaction ID used twice; verify on its own card after checking.", "warning")
    if not ids:
        return redirect(_back(slug))
    try:
        done = decisions.decide_many(ids, "verify", actor())
    except DomainError as exc:
        db.session.rollback()
        context = _queue_context(load(slug), None, error=exc.message)
        return render_template(QUEUE_TEMPLATE, **context), status_for(exc)
    names = ", ".join(e.team_name for e in done)
    flash(f"Verified {len(done)} registration{'s' if len(done) != 1 else ''}: {names}.", "success")
    left = [db.session.get(Entry, i) for i in dict.fromkeys(ids) if i not in {e.id for e in done}]
    if left:
        # decide_many decides each on its own; the ones it refused are named so staff look again.
        skipped = ", ".join(f"{e.team_name} ({e.status.replace('_', ' ')}, payment {e.payment_status})" for e in left)
        flash(f"Not verified: {skipped}. Open their cards to see why.", "warning")
    return redirect(_back(slug))


@bp.route("/tournaments/<slug>/registrations/<dbid:entry_id>/refund", methods=["GET", "POST"])
def registration_refund(slug: str, entry_id: int):
    """The confirm step of a refund (a page of its own, or its form alone for htmx), and the refund."""
    tournament = load(slug)
    entry = _entry_of(tournament, entry_id)
    form = RefundForm(formdata=None) if request.method == "GET" else RefundForm()
    status = 200
    error = None
    if request.method == "POST":
        if form.validate_on_submit() and storable_form(form):
            try:
                decisions.decide(
                    entry.id,
                    "refund",
                    actor(),
                    reason=form.reason.data.strip(),
                    reference=form.reference.data.strip(),
                )
            except DomainError as exc:
                db.session.rollback()
                attach_error(form, exc)
                error, status = exc.message, status_for(exc)
                entry = _entry_of(load(slug), entry_id)
            else:
                flash(f"{entry.team_name} ({entry.code}): refund recorded.", "success")
                return redirect(_back(slug, entry_id))
        else:
            status = 400
    context = {"tournament": tournament, "entry": entry, "form": form, "error": error}
    if request.headers.get("HX-Request") and request.method == "GET":
        return render_block(REFUND_TEMPLATE, "confirm", **context)
    return render_template(REFUND_TEMPLATE, **context), status


# --------------------------------------------------------------------------- CSV export


def _csv_rows(tournament: Tournament):
    rows = entry_records.queue(tournament.id)
    duplicates = entry_records.duplicate_transaction_entry_ids(tournament.id)
    positions = entry_records.waitlist_positions(tournament.id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for entry in rows:
        row = entry_records.to_row(entry, positions)
        proof: PaymentProof | None = entry.proofs[-1] if entry.proofs else None
        values = {
            **row,
            "captain": entry.captain.display_name,
            "captain_email": entry.captain.email,
            "method": proof.method if proof else "",
            "transaction_id": proof.transaction_id if proof else "",
            "amount": f"{proof.amount_cents / 100:.2f}" if proof else "",
            "currency": proof.currency if proof else "",
            "sender_last_digits": proof.sender_last_digits if proof else "",
            "proof_status": proof.status if proof else "",
            "duplicate_transaction": "yes" if entry.id in duplicates else "",
        }
        writer.writerow([safe_cell(values.get(column)) for column in CSV_COLUMNS])
    return out.getvalue()


@bp.get("/tournaments/<slug>/registrations.csv")
def registrations_csv(slug: str):
    tournament = load(slug)
    response = Response(_csv_rows(tournament), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{tournament.slug}-registrations.csv"'
    return response
