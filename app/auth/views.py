from __future__ import annotations

import functools
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.wrappers import Response

from app.auth import bp
from app.auth.devices import known_device, remember_device
from app.auth.forms import LoginForm, PasswordChangeForm
from app.errors import DomainError
from app.extensions import db
from app.models import User
from app.services.accounts import users as users_service
from app.services.inputs.text import storable
from app.services.support.throttle import Refusal, throttle

BAD_CREDENTIALS = "Wrong email or password."
INACTIVE_ACCOUNT = "This account has been deactivated. Ask an administrator to re-enable it."


def is_safe_next(target: str | None) -> bool:
    """Only a path on this site: anything else after login would be an open redirect.

    Browsers read `/\\evil.com` and `//evil.com` as another host, and drop tabs and newlines
    inside URLs, so those are refused along with anything carrying a scheme or host.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def _home_for(user: User) -> str:
    if user.can_staff:
        return url_for("staff.dashboard")
    # The public pages belong to another blueprint that may not offer an index.
    if "public.index" in current_app.view_functions:
        return url_for("public.index")
    return request.script_root + "/"


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash("not a real password")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int] | str:
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
        if current_user.is_authenticated:
            target = form.next.data
            return redirect(target if is_safe_next(target) else _home_for(current_user))
        return render_template("auth/login.html", form=form)

    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 400

    email = (form.email.data or "").strip().lower()
    address = request.remote_addr or ""
    # An email PostgreSQL cannot even compare (a NUL inside) belongs to nobody.
    user = db.session.scalars(select(User).where(func.lower(User.email) == email)).first() if storable(email) else None
    # The slot is taken before the password is checked, so parallel guesses cannot overrun the limit.
    attempt = throttle().attempt(throttle().login_windows(email, address, known_device(user.id if user else None)))
    if attempt.refusal is not None:
        return _too_many_attempts(form, attempt.refusal)
    if user is None:
        # Hash anyway, so the response time does not tell which emails have accounts.
        check_password_hash(_dummy_hash(), form.password.data or "")
        return _login_failed(form, BAD_CREDENTIALS)
    if not user.check_password(form.password.data or ""):
        return _login_failed(form, BAD_CREDENTIALS)
    attempt.succeeded()
    if not user.is_active:
        # Said only after the right password, so it reveals nothing to a guesser.
        return _login_failed(form, INACTIVE_ACCOUNT)

    login_user(user, remember=bool(form.remember.data))
    flash(f"Logged in as {user.email}.", "success")
    target = form.next.data or request.args.get("next")
    response = redirect(target if is_safe_next(target) else _home_for(user))
    remember_device(response, user.id)
    return response


def _login_failed(form: LoginForm, message: str) -> tuple[str, int]:
    current_app.logger.info("failed login for %r from %s", form.email.data, request.remote_addr)
    form.password.data = ""
    return render_template("auth/login.html", form=form, error=message), 401


def _too_many_message(refusal: Refusal) -> str:
    minutes = max(1, -(-refusal.retry_after // 60))
    whom = "this account" if refusal.scope == "account" else "your network address"
    return f"Too many failed log-in attempts for {whom}. Try again in {minutes} minute{'s' if minutes != 1 else ''}."


def _too_many_attempts(form: LoginForm, refusal: Refusal) -> Response:
    message = _too_many_message(refusal)
    current_app.logger.warning(
        "log-in refused (%s limit) for %r from %s", refusal.scope, form.email.data, request.remote_addr
    )
    form.password.data = ""
    response = current_app.make_response((render_template("auth/login.html", form=form, error=message), 429))
    response.headers["Retry-After"] = str(refusal.retry_after)
    return response


@bp.post("/logout")
def logout() -> Response:
    # POST only (with the app-wide CSRF check): a GET logout could be fired by any <img> tag.
    if current_user.is_authenticated:
        # Ends this session on the server too: a copy of the cookie (or a remember cookie)
        # saved before now no longer loads the user. It logs out the user's other devices too.
        users_service.end_sessions(current_user.id)
        logout_user()
        flash("You have been logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> Response | tuple[str, int] | str:
    form = PasswordChangeForm()
    if request.method == "GET":
        return render_template("auth/password.html", form=form)
    if not form.validate_on_submit():
        return render_template("auth/password.html", form=form), 400
    user = current_user._get_current_object()
    # Guessing the current password from a borrowed session counts against the same limits as
    # guessing it at /login.
    address = request.remote_addr or ""
    attempt = throttle().attempt(throttle().login_windows(user.email, address, known_device(user.id)))
    if attempt.refusal is not None:
        form.current_password.errors = [_too_many_message(attempt.refusal)]
        return render_template("auth/password.html", form=form), 429
    if not user.check_password(form.current_password.data or ""):
        form.current_password.errors = ["That is not your current password."]
        return render_template("auth/password.html", form=form), 400
    attempt.succeeded()
    try:
        user = users_service.change_password(user.id, form.new_password.data or "", actor_id=user.id)
    except DomainError as exc:
        db.session.rollback()
        form.new_password.errors = [exc.message]
        return render_template("auth/password.html", form=form), exc.status
    # Every other session has just ended; this one continues under the new session version.
    login_user(user)
    flash("Password changed. You have been logged out everywhere else.", "success")
    return redirect(_home_for(user))
