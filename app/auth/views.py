from __future__ import annotations

import functools
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.wrappers import Response

from app.auth import bp
from app.auth.forms import LoginForm
from app.extensions import db
from app.models import User

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
    user = db.session.scalars(select(User).where(func.lower(User.email) == email)).first()
    if user is None:
        # Hash anyway, so the response time does not tell which emails have accounts.
        check_password_hash(_dummy_hash(), form.password.data or "")
        return _login_failed(form, BAD_CREDENTIALS)
    if not user.check_password(form.password.data or ""):
        return _login_failed(form, BAD_CREDENTIALS)
    if not user.is_active:
        # Said only after the right password, so it reveals nothing to a guesser.
        return _login_failed(form, INACTIVE_ACCOUNT)

    login_user(user)
    flash(f"Logged in as {user.email}.", "success")
    target = form.next.data or request.args.get("next")
    return redirect(target if is_safe_next(target) else _home_for(user))


def _login_failed(form: LoginForm, message: str) -> tuple[str, int]:
    current_app.logger.info("failed login for %r from %s", form.email.data, request.remote_addr)
    form.password.data = ""
    return render_template("auth/login.html", form=form, error=message), 401


@bp.post("/logout")
def logout() -> Response:
    # POST only (with the app-wide CSRF check): a GET logout could be fired by any <img> tag.
    if current_user.is_authenticated:
        logout_user()
        flash("You have been logged out.", "info")
    return redirect(url_for("auth.login"))
