"""The captain's side of registration: register a team, pay (proof with an optional screenshot),
withdraw, check in, hand teammates a join code; "my registrations"; and the screenshot itself.

Views parse the form and call `app.services.registration.entries`, which holds the rules and their messages.
A registration page is shown to the team's captain and players (anyone else: 404, so a guessed
number reveals nothing); only the captain gets the forms. Withdrawing cannot be undone, so it
goes through a confirm page, which htmx loads in place when JavaScript is on.

Screenshots are larger than any other form (2 MB against the site's 1 MB request limit), so
the proof view raises the limit for itself alone before anything reads the body, and runs the
CSRF check itself after that (a 3 MB file then gets a clear message, not a bare 413).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from jinja2_fragments.flask import render_block
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app.errors import DomainError
from app.extensions import csrf, db, login_manager
from app.models import Entry, EntryStatus, PaymentProof, Registration, Tournament, TournamentStatus, utcnow
from app.players import bp
from app.services.accounts.players import issue_join_code
from app.services.inputs.text import storable
from app.services.registration import entries, proof_images
from app.services.registration import records as entry_records
from app.services.registration import settings as registration_settings
from app.services.tournaments.lookup import get_tournament_by_slug

ENTRY_TEMPLATE = "players/registration.html"
WITHDRAW_TEMPLATE = "players/registration_withdraw.html"
# The screenshot (2 MB) plus the form's text fields and multipart framing. Beyond this the body
# is refused unread (413); up to it, a screenshot over 2 MB gets proof_images' message.
PROOF_REQUEST_LIMIT = 4 * 1024 * 1024
METHOD_LABELS = {"bkash": "bKash", "nagad": "Nagad", "rocket": "Rocket"}


class RegisterForm(FlaskForm):
    team_name = StringField("Team name", validators=[DataRequired(), Length(max=200)])
    tag = StringField("Tag (optional)", validators=[Optional(), Length(max=20)], description="A short tag, e.g. DCX")


class ProofForm(FlaskForm):
    method = SelectField("Paid with", choices=[], validate_choice=False)
    transaction_id = StringField(
        "Transaction ID",
        validators=[DataRequired(), Length(max=80)],
        description="From the confirmation SMS or the app, e.g. 9A7B6C5D4E",
    )
    amount = StringField("Amount sent", validators=[DataRequired(), Length(max=20)])
    sender_last_digits = StringField(
        "Last digits of the sending account",
        validators=[Optional(), Length(max=8)],
        description="e.g. 4321 — the number you paid from, so the organiser can find it",
    )
    screenshot = FileField(
        "Screenshot (optional)",
        description="PNG, JPEG or WebP, at most 2 MB. Only the organisers and your team see it.",
    )


class ConfirmForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


def _load_tournament(slug: str) -> Tournament:
    if not storable(slug):
        abort(404)
    try:
        tournament = get_tournament_by_slug(slug)
    except DomainError:
        abort(404, f"There is no tournament at “{slug[:80]}”.")
    # A draft is not there for anyone but staff, signed in or not: the same 404 as no tournament.
    if tournament.status == TournamentStatus.DRAFT and not (current_user.is_authenticated and current_user.can_staff):
        abort(404, f"There is no tournament at “{slug[:80]}”.")
    return tournament


def _is_member(entry: Entry, user_id: int) -> bool:
    if entry.captain_id == user_id:
        return True
    if entry.participant_id is None:
        return False
    found = db.session.scalar(
        select(Registration.id).where(
            Registration.participant_id == entry.participant_id, Registration.user_id == user_id
        )
    )
    return found is not None


def _entry(entry_id: int) -> Entry:
    """The registration if the current user is its captain or on its team; 404 otherwise."""
    entry = db.session.get(Entry, entry_id)
    if entry is None or not _is_member(entry, current_user.id):
        abort(404, "You have no such registration.")
    return entry


def _method_choices(view: Any) -> list[tuple[str, str]]:
    return [(m["name"], METHOD_LABELS.get(m["name"], m["name"])) for m in (view.methods or [])]


def _entry_context(entry: Entry, **extra: Any) -> dict[str, Any]:
    tournament = entry.tournament
    view = entries.public_state(tournament)
    settings = registration_settings.settings_for(tournament.id)
    now = utcnow()
    captain = entry.captain_id == current_user.id
    proof_form = extra.pop("proof_form", None) or ProofForm(formdata=None)
    proof_form.method.choices = _method_choices(view)
    if not proof_form.amount.data and settings is not None and settings.fee_cents:
        proof_form.amount.data = f"{settings.fee_cents / 100:.2f}"
    starts_at = getattr(settings, "starts_at", None)
    in_window = bool(
        view.check_in_opens_at and view.check_in_closes_at and view.check_in_opens_at <= now < view.check_in_closes_at
    )
    return {
        "entry": entry,
        "tournament": tournament,
        "view": view,
        "settings": settings,
        "captain": captain,
        "proofs": entry_records.proofs_of(entry.id),
        "proof_form": proof_form,
        "confirm_form": ConfirmForm(formdata=None),
        "can_pay": captain
        and entry.status == EntryStatus.PENDING_PAYMENT
        and entry.payment_status in ("none", "rejected")
        and bool(view.methods),
        "can_withdraw": captain and entry.status in entries.ALIVE and (starts_at is None or now < starts_at),
        "can_check_in": captain and entry.status == EntryStatus.CONFIRMED and not entry.checked_in_at and in_window,
        "method_labels": METHOD_LABELS,
        "position": entry_records.to_row(entry)["waitlist_position"],
        "now": now,
        **extra,
    }


def _private(response: Any) -> Response:
    response = make_response(response)
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --------------------------------------------------------------------------- register


@bp.route("/tournaments/<slug>/register", methods=["GET", "POST"])
def register(slug: str):
    # The tournament first, the log-in second: a draft's address answers 404, not "log in".
    tournament = _load_tournament(slug)
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    existing = entry_records.entry_for_user(tournament.id, current_user.id)
    if existing is not None and existing.status in entries.ALIVE:
        return redirect(url_for("players.registration", entry_id=existing.id))
    form = RegisterForm()
    view = entries.public_state(tournament)
    status, error = 200, None
    if request.method == "POST":
        if form.validate_on_submit() and storable(form.team_name.data or "") and storable(form.tag.data or ""):
            try:
                # As typed: the service trims, after checking the name rule on what was sent.
                entry = entries.register(tournament.id, current_user.id, form.team_name.data, form.tag.data or "")
            except DomainError as exc:
                db.session.rollback()
                error, status = exc.message, exc.status
            else:
                if entry.status == EntryStatus.WAITLISTED:
                    flash(f"{entry.team_name} is on the waiting list. We will tell you if a slot frees up.", "info")
                else:
                    flash(f"{entry.team_name} is registered. Your registration code is {entry.code}.", "success")
                return redirect(url_for("players.registration", entry_id=entry.id))
        else:
            status = 400
    page = render_template(
        "players/registration_new.html", tournament=tournament, view=view, form=form, error=error, existing=existing
    )
    return _private((page, status))


# --------------------------------------------------------------------------- my registrations


@bp.get("/account/registrations")
@login_required
def registrations():
    mine = entry_records.entries_for_user(current_user.id)
    return _private(render_template("players/registrations.html", rows=mine, method_labels=METHOD_LABELS))


@bp.get("/account/registrations/<dbid:entry_id>")
@login_required
def registration(entry_id: int):
    return _private(render_template(ENTRY_TEMPLATE, **_entry_context(_entry(entry_id))))


@bp.route("/account/registrations/<dbid:entry_id>/proof", methods=["POST"])
@csrf.exempt  # checked below, once the larger body limit applies
@login_required
def registration_proof(entry_id: int):
    request.max_content_length = PROOF_REQUEST_LIMIT
    csrf.protect()
    entry = _entry(entry_id)
    if entry.captain_id != current_user.id:
        abort(403, "Only the team's captain sends payment proof.")
    form = ProofForm()
    form.method.choices = _method_choices(entries.public_state(entry.tournament))
    if not form.validate() or not all(storable(f.data) for f in form if isinstance(f.data, str)):
        return _private((render_template(ENTRY_TEMPLATE, **_entry_context(entry, proof_form=form)), 400))
    upload = form.screenshot.data
    key = None
    try:
        if upload is not None and getattr(upload, "filename", ""):
            key = proof_images.store(upload)
        entries.submit_proof(
            entry.id,
            current_user.id,
            method=form.method.data or "",
            transaction_id=(form.transaction_id.data or "").strip(),
            amount=(form.amount.data or "").strip(),
            sender_last_digits=(form.sender_last_digits.data or "").strip(),
            screenshot_key=key,
        )
    except DomainError as exc:
        db.session.rollback()
        if key is not None:
            proof_images.delete(key)
        _attach(form, exc)
        page = render_template(ENTRY_TEMPLATE, **_entry_context(_entry(entry_id), proof_form=form))
        return _private((page, exc.status))
    flash("Payment proof sent. The organisers will check it against their statement.", "success")
    return redirect(url_for("players.registration", entry_id=entry_id))


def _attach(form: FlaskForm, exc: DomainError) -> None:
    field_name, sep, text = exc.message.partition(": ")
    field = form._fields.get(field_name) if sep else None
    if field is not None and field_name != "csrf_token":
        field.errors = [*field.errors, text]
    else:
        form.form_errors.append(exc.message)


@bp.route("/account/registrations/<dbid:entry_id>/withdraw", methods=["GET", "POST"])
@login_required
def registration_withdraw(entry_id: int):
    """GET: the confirm step (a page, or for htmx its block alone); POST: withdraw."""
    entry = _entry(entry_id)
    form = ConfirmForm()
    status, error = 200, None
    if request.method == "POST":
        if not form.validate_on_submit():
            status, error = 400, "The form expired; try again."
        else:
            try:
                entries.withdraw(entry.id, current_user.id)
            except DomainError as exc:
                db.session.rollback()
                status, error = exc.status, exc.message
                entry = _entry(entry_id)
            else:
                flash(f"{entry.team_name} is withdrawn from {entry.tournament.name}.", "info")
                return redirect(url_for("players.registration", entry_id=entry_id))
    context = {"entry": entry, "tournament": entry.tournament, "form": form, "error": error}
    if request.method == "GET" and request.headers.get("HX-Request"):
        return _private(render_block(WITHDRAW_TEMPLATE, "confirm", **context))
    return _private((render_template(WITHDRAW_TEMPLATE, **context), status))


@bp.post("/account/registrations/<dbid:entry_id>/check-in")
@login_required
def registration_check_in(entry_id: int):
    entry = _entry(entry_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")
    try:
        entries.check_in(entry.id, current_user.id)
    except DomainError as exc:
        db.session.rollback()
        page = render_template(ENTRY_TEMPLATE, **_entry_context(_entry(entry_id), error=exc.message))
        return _private((page, exc.status))
    flash(f"{entry.team_name} is checked in. Good luck!", "success")
    return redirect(url_for("players.registration", entry_id=entry_id))


@bp.post("/account/registrations/<dbid:entry_id>/join-code")
@login_required
def registration_join_code(entry_id: int):
    """A new join code for the captain's teammates, shown on this response only (stored hashed);
    the team's earlier code stops working."""
    entry = _entry(entry_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")
    if entry.captain_id != current_user.id or entry.participant is None or entry.status not in entries.ALIVE:
        abort(403, "Only the captain of a current registration hands out its join code.")
    code = issue_join_code(entry.participant, current_user.id)
    db.session.commit()
    return _private(render_template(ENTRY_TEMPLATE, **_entry_context(entry, join_code=code)))


# --------------------------------------------------------------------------- the screenshot


@bp.get("/proofs/<dbid:proof_id>/screenshot")
@login_required
def proof_screenshot(proof_id: int):
    """Only staff and the team's players: anyone else gets 404 (not 403: whether proof 17 exists
    is nobody else's business). Never cached by anyone but the viewer's browser tab."""
    proof = db.session.get(PaymentProof, proof_id)
    if proof is None or not proof.screenshot_key or not entry_records.can_view_proof(current_user, proof):
        abort(404, "No such screenshot.")
    try:
        image = proof_images.open(proof.screenshot_key)
    except DomainError:
        abort(404, "No such screenshot.")
    response = make_response(image.data)
    response.headers["Content-Type"] = image.mimetype
    extension = proof.screenshot_key.rsplit(".", 1)[1]
    response.headers["Content-Disposition"] = f'inline; filename="payment-proof-{proof.id}.{extension}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    response.vary.add("Cookie")
    return response


def deadline_text(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""
