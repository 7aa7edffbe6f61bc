"""User administration (admins only): create users, change roles, deactivate and reactivate,
unlock an account's log-in.
The rules are `app.services.accounts.users`, the same the `flask users` commands apply."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app.errors import DomainError, ValidationError
from app.extensions import db
from app.services.accounts import users as users_service
from app.services.accounts.rules import MAX_DISPLAY_NAME, MAX_EMAIL_LENGTH, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from app.staff import admin_required, bp

ROLE_CHOICES = {"player": "Player", "staff": "Staff", "admin": "Admin"}


class UserCreateForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=MAX_EMAIL_LENGTH)])
    display_name = StringField(
        "Display name",
        validators=[Optional(), Length(max=MAX_DISPLAY_NAME)],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )
    role = SelectField("Role", choices=ROLE_CHOICES, default="staff")
    password = PasswordField(
        f"Initial password (at least {MIN_PASSWORD_LENGTH} characters)",
        validators=[
            DataRequired(),
            Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH),
        ],
    )


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)


def _page(form: UserCreateForm, status: int = 200):
    return render_template("staff/users/index.html", users=users_service.list_users(), form=form), status


@bp.get("/users/")
@admin_required
def users():
    return _page(UserCreateForm())


@bp.post("/users/")
@admin_required
def user_create():
    form = UserCreateForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    try:
        user = users_service.create_user(
            form.email.data or "",
            form.password.data or "",
            role=form.role.data,
            display_name=form.display_name.data or None,
            actor_id=current_user.id,
        )
    except DomainError as exc:
        db.session.rollback()
        if "password" in exc.message:
            field = form.password
        else:
            field = form.display_name if exc.message.startswith("name") else form.email
        field.errors = [*field.errors, exc.message]
        return _page(form, exc.status)
    flash(f"Created {user.email} ({users_service.role_of(user)}).", "success")
    return redirect(url_for("staff.users"))


@bp.post("/users/<dbid:user_id>/role")
@admin_required
def user_role(user_id: int) -> Response:
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400, "choose a role: player, staff or admin")
    return _apply(lambda: users_service.change_role(user_id, form.role.data, actor_id=current_user.id), "role changed")


@bp.post("/users/<dbid:user_id>/active")
@admin_required
def user_active(user_id: int) -> Response:
    value = request.form.get("active")
    if value not in ("0", "1"):
        abort(400, "active: must be 0 or 1")
    done = "reactivated" if value == "1" else "deactivated; their sessions have ended and their tokens stopped working"
    return _apply(lambda: users_service.set_active(user_id, value == "1", actor_id=current_user.id), done)


@bp.post("/users/<dbid:user_id>/unlock")
@admin_required
def user_unlock(user_id: int) -> Response:
    done = "log-in unlocked; failed attempts against the account are forgotten"
    return _apply(lambda: users_service.unlock(user_id, actor_id=current_user.id), done)


def _apply(change, done: str) -> Response:
    # The CSRF check already ran (app-wide); a missing token never reaches this point.
    try:
        user = change()
    except ValidationError as exc:
        db.session.rollback()
        abort(400, exc.message)
    except DomainError as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404, exc.message)
        flash(exc.message, "error")
        return _page(UserCreateForm(formdata=None), exc.status)
    flash(f"{user.email}: {done}.", "success")
    return redirect(url_for("staff.users"))
