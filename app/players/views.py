from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block
from werkzeug.wrappers import Response

from app.confirmation import is_confirmed, redirect_after
from app.errors import DomainError
from app.extensions import csrf, db
from app.models import Notification
from app.notifications import preferences
from app.players import bp
from app.players.forms import CsrfOnlyForm, JoinTeamForm, SignupForm
from app.rendering import VARY_HEADERS, wants_fragment
from app.services import inbox
from app.services.accounts import players as player_service
from app.services.accounts import verification
from app.services.inputs.numbers import parse_whole
from app.services.support.throttle import Refusal, throttle

# htmx stops polling when it gets this status: a poll from a page whose session has ended.
HTMX_STOP_POLLING = 286
UNREAD_TEMPLATE = "players/_unread.html"
INBOX_TEMPLATE = "players/inbox.html"


@bp.app_context_processor
def _inbox_globals() -> dict:
    def inbox_unread_count() -> int:
        return inbox.unread_count(current_user.id) if current_user.is_authenticated else 0

    return {"inbox_unread_count": inbox_unread_count}


SIGNED_UP_EMAIL_ON = (
    "Thanks! We have emailed {email}. Follow the link in that email to confirm the address, then log in here."
)
SIGNED_UP_EMAIL_OFF = (
    "Thanks! If {email} was new here, your account is ready: log in with it below. "
    "If it already had an account, log in with that account's password."
)


def _too_many(refusal: Refusal, what: str) -> str:
    minutes = max(1, -(-refusal.retry_after // 60))
    return f"Too many {what} from {_WHOM[refusal.scope]}. Try again in {minutes} minute{'s' if minutes != 1 else ''}."


_WHOM = {"account": "this account", "address": "your network address"}


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> Response | str | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("players.inbox_view"))
    form = SignupForm()
    if request.method == "GET":
        return render_template("players/signup.html", form=form)
    if not form.validate_on_submit():
        return render_template("players/signup.html", form=form), 400
    # Every sign-up counts, created or not: one address cannot mass-produce accounts.
    attempt = throttle().attempt(throttle().signup_windows(request.remote_addr or ""))
    if attempt.refusal is not None:
        form.password.data = form.confirm.data = ""
        error = _too_many(attempt.refusal, "sign-ups")
        response = make_response(render_template("players/signup.html", form=form, error=error), 429)
        response.headers["Retry-After"] = str(attempt.refusal.retry_after)
        return response
    try:
        player_service.sign_up(form.email.data or "", form.password.data or "", form.display_name.data or "")
    except DomainError as exc:
        form.password.data = form.confirm.data = ""
        return render_template("players/signup.html", form=form, error=exc.message), exc.status
    # The same words whether the address was new or taken: sign-up does not reveal accounts.
    email = (form.email.data or "").strip().lower()
    done = SIGNED_UP_EMAIL_ON if verification.email_enabled() else SIGNED_UP_EMAIL_OFF
    flash(done.format(email=email), "success")
    return redirect(url_for("auth.login"))


@bp.get("/account/verify/<token>")
def verify_email(token: str) -> Response | tuple[str, int]:
    """The link in the confirmation email. A GET does it: the link is opened from a mail client,
    and confirming an address is what its owner (or their mail scanner) opening it means."""
    try:
        user = verification.confirm(token)
    except DomainError as exc:
        return render_template("players/verify.html", error=exc.message), exc.status
    flash(f"Thanks: {user.email} is confirmed. You can join your team now.", "success")
    target = "players.teams" if current_user.is_authenticated else "auth.login"
    return redirect(url_for(target))


@bp.post("/account/verify/resend")
@login_required
def resend_verification() -> Response | tuple[str, int]:
    form = CsrfOnlyForm()
    if not form.validate_on_submit():
        abort(400, "The form has expired; reload the page and try again.")
    if verification.is_verified(current_user):
        flash("Your address is already confirmed.", "info")
        return redirect(url_for("players.teams"))
    # Counted with sign-ups: each one sends an email.
    attempt = throttle().attempt(throttle().signup_windows(request.remote_addr or ""))
    if attempt.refusal is not None:
        flash(_too_many(attempt.refusal, "emails requested"), "error")
        return redirect(url_for("players.teams"))
    verification.send_verification(current_user)
    flash(f"We have sent a new link to {current_user.email}.", "success")
    return redirect(url_for("players.teams"))


@bp.route("/account/teams", methods=["GET", "POST"])
@login_required
def teams() -> Response | str | tuple[str, int]:
    form = JoinTeamForm()
    status = 200
    error = None
    if request.method == "POST":
        if form.validate_on_submit():
            # Taken before the code is looked up, and given back when the code was right.
            attempt = throttle().attempt(throttle().join_code_windows(current_user.email, request.remote_addr or ""))
            if attempt.refusal is not None:
                error, status = _too_many(attempt.refusal, "wrong join codes"), 429
            else:
                try:
                    result = player_service.join_team(current_user, form.code.data or "")
                except DomainError as exc:
                    if exc.status not in (400, 404):  # the code was right; something else refused it
                        attempt.succeeded()
                    error, status = exc.message, exc.status
                else:
                    attempt.succeeded()
                    name = result.registration.participant.name
                    flash(f"You joined {name}." if result.created else f"You are already on {name}.", "success")
                    return redirect(url_for("players.teams"))
        else:
            status = 400
    rows = player_service.teams_of(current_user.id)
    return render_template(
        "players/teams.html",
        form=form,
        rows=rows,
        error=error,
        verified=verification.is_verified(current_user),
        resend_form=CsrfOnlyForm(),
    ), status


@bp.route("/account/teams/<int:registration_id>/leave", methods=["GET", "POST"])
@login_required
def leave_team(registration_id: int) -> Response | str | tuple[str, int]:
    """Leaving cannot be undone by the player (rejoining needs the team's code): the button
    shows a confirm page first (app.confirmation), whose own form leaves."""
    try:
        registration = player_service.own_registration(current_user, registration_id)
    except DomainError as exc:
        abort(404, exc.message)
    if not is_confirmed():
        return render_template("players/confirm_leave.html", registration=registration, form=CsrfOnlyForm())
    try:
        participant = player_service.leave_team(current_user, registration_id)
    except DomainError as exc:
        if exc.status == 404:
            abort(404, exc.message)
        flash(exc.message, "error")
        return redirect(url_for("players.teams"))
    flash(f"You left {participant.name}.", "info")
    return redirect_after(url_for("players.teams"))


@bp.get("/inbox")
@login_required
def inbox_view() -> str:
    page = parse_whole(request.args.get("page", "1"), max_digits=6)
    if page is None or not 1 <= page <= 100_000:
        abort(400, "page must be a whole number from 1")
    found = inbox.inbox_page(current_user.id, page)
    return render_template(
        INBOX_TEMPLATE,
        notifications=found.notifications,
        page=found.page,
        has_next=found.has_next,
        unread=found.unread,
        form=CsrfOnlyForm(),
    )


@bp.get("/inbox/unread-count")
def unread_count() -> Response:
    """The header badge, polled by htmx; one source: the `unread_badge` block that base.html includes."""
    if not current_user.is_authenticated:
        response = make_response("", HTMX_STOP_POLLING if request.headers.get("HX-Request") else 401)
    else:
        response = make_response(render_block(UNREAD_TEMPLATE, "unread_badge"))
    response.headers["Cache-Control"] = "private, no-store"
    for header in VARY_HEADERS:
        response.vary.add(header)
    response.vary.add("Cookie")
    return response


@bp.post("/inbox/<int:notification_id>/read")
@login_required
def mark_read(notification_id: int) -> Response:
    if not inbox.mark_read(current_user.id, notification_id):
        abort(404, "You have no such notification.")
    if not wants_fragment():
        return redirect(_back_to_inbox())
    # htmx: the item re-rendered in place, plus the header badge and the count out of band.
    notification = db.session.get(Notification, notification_id)
    context = {"form": CsrfOnlyForm(), "page": parse_whole(request.args.get("page"), max_digits=6) or 1}
    body = (
        render_block(INBOX_TEMPLATE, "notification", n=notification, **context)
        + render_block(UNREAD_TEMPLATE, "unread_badge", oob=True)
        + render_block(INBOX_TEMPLATE, "unread_summary", unread=inbox.unread_count(current_user.id), oob=True)
    )
    response = make_response(body)
    response.headers["Cache-Control"] = "private, no-store"
    for header in VARY_HEADERS:
        response.vary.add(header)
    return response


@bp.post("/inbox/read-all")
@login_required
def mark_all_read() -> Response:
    count = inbox.mark_all_read(current_user.id)
    plural = "s" if count != 1 else ""
    flash(f"Marked {count} notification{plural} as read." if count else "Nothing was unread.", "info")
    return redirect(_back_to_inbox())


def _back_to_inbox() -> str:
    page = parse_whole(request.args.get("page"), max_digits=6)
    if page is not None and 1 < page <= 100_000:
        return url_for("players.inbox_view", page=page)
    return url_for("players.inbox_view")


@bp.route("/account/notifications", methods=["GET", "POST"])
@login_required
def notification_settings() -> Response | str | tuple[str, int]:
    form = CsrfOnlyForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400, "The form has expired; reload the page and try again.")
        chosen = request.form.getlist("email")
        unknown = [c for c in chosen if c not in preferences.CATEGORIES]
        if unknown:
            abort(400, f"unknown category: {unknown[0][:40]!r}")
        changed = preferences.set_email_preferences(current_user.id, {c: c in chosen for c in preferences.CATEGORIES})
        db.session.commit()
        flash("Email preferences saved." if changed else "Nothing changed.", "success")
        return redirect(url_for("players.notification_settings"))
    return render_template(
        "players/notification_settings.html",
        form=form,
        categories=preferences.CATEGORIES,
        enabled=preferences.email_preferences(current_user.id),
    )


def _masked(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


@csrf.exempt
@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str) -> Response | str | tuple[str, int]:
    """RFC 8058: a mail provider POSTs `List-Unsubscribe=One-Click` with no cookies and no CSRF
    token, so the signed token is the only credential (and CSRF is exempt for this view). A GET
    (a person clicking, or a link scanner) only shows a confirm button and changes nothing."""
    try:
        user, category = preferences.read_unsubscribe_token(token)
    except preferences.InvalidUnsubscribeToken as exc:
        return render_template("players/unsubscribe.html", error=str(exc)), 400
    context = {"email": _masked(user.email), "category": category, "label": preferences.CATEGORIES[category]}
    if request.method == "GET":
        done = not preferences.wants_email(user.id, category)
        return render_template("players/unsubscribe.html", token=token, done=done, **context)
    preferences.set_email_opt_out(user.id, category, True)
    db.session.commit()
    return render_template("players/unsubscribe.html", done=True, just_now=True, **context)
