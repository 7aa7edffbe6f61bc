"""Webhook endpoints in the staff portal (admins only): list, add, edit, rotate the secret,
enable or disable, delete, the delivery log with every attempt, redeliver, retry everything
that failed since a given time, and send a test event.
The rules are `app.notifications.endpoints`; the worker does the sending.

`/staff/webhooks/default/` is the endpoint configured in WEBHOOK_DELIVERY_URL: its log,
redelivery and test event, but no editing (it lives in the settings, not the database).
"""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import SelectMultipleField, StringField, widgets
from wtforms.validators import Length

from app.errors import DomainError, NotFound
from app.extensions import db
from app.models import utcnow
from app.notifications import endpoints as service
from app.notifications.models import MAX_URL
from app.notifications.outbox import EVENT_TYPES
from app.services.registration.settings import MAX_TIME_TEXT
from app.staff import admin_required, bp
from app.staff.forms import attach_error, storable_form

ID = "dbid"


class EndpointForm(FlaskForm):
    url = StringField("URL", validators=[Length(max=MAX_URL)], filters=[lambda v: v.strip() if v else v])
    description = StringField("Description (optional)", validators=[Length(max=service.MAX_DESCRIPTION)])
    event_types = SelectMultipleField(
        "Event types (none ticked: all)",
        choices={t: t for t in EVENT_TYPES},
        option_widget=widgets.CheckboxInput(),
        widget=widgets.ListWidget(prefix_label=False),
        validate_choice=True,
    )


class ActionForm(FlaskForm):
    """Buttons that only need the CSRF token."""


class RetryForm(FlaskForm):
    since = StringField("Failed since (UTC)", validators=[Length(max=MAX_TIME_TEXT)])


def _load(endpoint_id: int):
    try:
        return service.get_endpoint(endpoint_id)
    except NotFound:
        abort(404)


def _status(exc: DomainError) -> int:
    return exc.status if 400 <= exc.status < 500 else 400


def _index(form: EndpointForm, status: int = 200):
    page = render_template(
        "staff/webhooks/index.html",
        endpoints=service.list_endpoints(),
        form=form,
        action=ActionForm(formdata=None),
        default_url=current_app.config.get("WEBHOOK_DELIVERY_URL") or "",
        enabled=current_app.config.get("NOTIFICATIONS_WEBHOOK_ENABLED"),
    )
    return page, status


def _detail(
    endpoint_id: int | None,
    form: EndpointForm | None = None,
    status: int = 200,
    error: str | None = None,
    retry_form: RetryForm | None = None,
):
    endpoint = _load(endpoint_id) if endpoint_id is not None else None
    if endpoint is not None and form is None:
        form = EndpointForm(formdata=None, obj=endpoint)
    if retry_form is None:
        retry_form = RetryForm(formdata=None, since=(utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    page = render_template(
        "staff/webhooks/endpoint.html",
        endpoint=endpoint,
        form=form,
        action=ActionForm(formdata=None),
        deliveries=service.deliveries(endpoint_id),
        default_url=current_app.config.get("WEBHOOK_DELIVERY_URL") or "",
        receiver=service.receiver_health() if endpoint is None else None,
        error=error,
        now_utc=utcnow(),
        retry_form=retry_form,
    )
    return page, status


def _secret_page(endpoint, secret: str, rotated: bool):
    return render_template("staff/webhooks/secret.html", endpoint=endpoint, secret=secret, rotated=rotated)


@bp.get("/webhooks/")
@admin_required
def webhooks():
    return _index(EndpointForm(formdata=None))


@bp.post("/webhooks/")
@admin_required
def webhook_create():
    form = EndpointForm()
    if not form.validate_on_submit() or not storable_form(form):
        return _index(form, 400)
    try:
        endpoint, secret = service.create_endpoint(
            form.url.data, form.description.data, form.event_types.data or [], current_user.id
        )
    except DomainError as exc:
        db.session.rollback()
        attach_error(form, exc)
        return _index(form, _status(exc))
    return _secret_page(endpoint, secret, rotated=False), 201


@bp.get(f"/webhooks/<{ID}:endpoint_id>/")
@admin_required
def webhook_endpoint(endpoint_id: int):
    return _detail(endpoint_id)


@bp.get("/webhooks/default/")
@admin_required
def webhook_default():
    return _detail(None)


@bp.post(f"/webhooks/<{ID}:endpoint_id>/")
@admin_required
def webhook_update(endpoint_id: int):
    _load(endpoint_id)
    form = EndpointForm()
    if not form.validate_on_submit() or not storable_form(form):
        return _detail(endpoint_id, form, 400)
    try:
        service.update_endpoint(
            endpoint_id, form.url.data, form.description.data, form.event_types.data or [], current_user.id
        )
    except DomainError as exc:
        db.session.rollback()
        attach_error(form, exc)
        return _detail(endpoint_id, form, _status(exc))
    flash("Endpoint saved.", "success")
    return redirect(url_for("staff.webhook_endpoint", endpoint_id=endpoint_id))


def _action(endpoint_id: int | None, run, done: str) -> Response | tuple[str, int]:
    if not ActionForm().validate_on_submit():
        return _detail(endpoint_id, status=400, error="The form expired; reload the page and try again.")
    try:
        run()
    except DomainError as exc:
        db.session.rollback()
        return _detail(endpoint_id, status=_status(exc), error=exc.message)
    flash(done, "success")
    if endpoint_id is None:
        return redirect(url_for("staff.webhook_default"))
    return redirect(url_for("staff.webhook_endpoint", endpoint_id=endpoint_id))


@bp.route(f"/webhooks/<{ID}:endpoint_id>/delete", methods=["GET", "POST"])
@admin_required
def webhook_delete(endpoint_id: int):
    """A confirm page (GET), then the deletion (POST): it cannot be undone."""
    endpoint = _load(endpoint_id)
    form = ActionForm()
    if form.is_submitted():
        if not form.validate():
            error = "The form expired; reload the page and try again."
            return _delete_page(endpoint, form, error), 400
        service.delete_endpoint(endpoint_id, current_user.id)
        flash(f"Deleted the endpoint {endpoint.url}.", "success")
        return redirect(url_for("staff.webhooks"))
    return _delete_page(endpoint, form)


def _delete_page(endpoint, form: ActionForm, error: str | None = None) -> str:
    return render_template(
        "staff/webhooks/delete.html",
        endpoint=endpoint,
        action=form,
        error=error,
        waiting=service.waiting_count(endpoint.id),
    )


@bp.post(f"/webhooks/<{ID}:endpoint_id>/enable")
@admin_required
def webhook_enable(endpoint_id: int):
    _load(endpoint_id)
    return _action(endpoint_id, lambda: service.set_enabled(endpoint_id, True, current_user.id), "Endpoint enabled.")


@bp.post(f"/webhooks/<{ID}:endpoint_id>/disable")
@admin_required
def webhook_disable(endpoint_id: int):
    _load(endpoint_id)
    return _action(
        endpoint_id,
        lambda: service.set_enabled(endpoint_id, False, current_user.id),
        "Endpoint disabled; its pending deliveries are cancelled.",
    )


@bp.post(f"/webhooks/<{ID}:endpoint_id>/rotate")
@admin_required
def webhook_rotate(endpoint_id: int):
    _load(endpoint_id)
    if not ActionForm().validate_on_submit():
        return _detail(endpoint_id, status=400, error="The form expired; reload the page and try again.")
    endpoint, secret = service.rotate(endpoint_id, current_user.id)
    return _secret_page(endpoint, secret, rotated=True)


@bp.post(f"/webhooks/<{ID}:endpoint_id>/test")
@admin_required
def webhook_test(endpoint_id: int):
    _load(endpoint_id)
    return _action(
        endpoint_id,
        lambda: service.send_test_event(endpoint_id, current_user.id),
        "Test event queued; the worker sends it within moments (see the log below).",
    )


@bp.post("/webhooks/default/test")
@admin_required
def webhook_default_test():
    return _action(
        None,
        lambda: service.send_test_event(None, current_user.id),
        "Test event queued; the worker sends it within moments (see the log below).",
    )


@bp.post(f"/webhooks/<{ID}:endpoint_id>/deliveries/<{ID}:delivery_id>/redeliver")
@admin_required
def webhook_redeliver(endpoint_id: int, delivery_id: int):
    _load(endpoint_id)
    return _action(
        endpoint_id,
        lambda: service.redeliver(endpoint_id, delivery_id, current_user.id),
        "Event queued again, with the same event id.",
    )


@bp.post(f"/webhooks/default/deliveries/<{ID}:delivery_id>/redeliver")
@admin_required
def webhook_default_redeliver(delivery_id: int):
    return _action(
        None,
        lambda: service.redeliver(None, delivery_id, current_user.id),
        "Event queued again, with the same event id.",
    )


def _retry(endpoint_id: int | None) -> Response | tuple[str, int]:
    form = RetryForm()
    if not form.validate_on_submit():
        return _detail(endpoint_id, status=400, error="The form expired; reload the page and try again.")
    try:
        count = service.retry_failed(endpoint_id, form.since.data, current_user.id)
    except DomainError as exc:
        db.session.rollback()
        return _detail(endpoint_id, status=_status(exc), error=exc.message, retry_form=form)
    flash(f"{count} failed deliver{'y' if count == 1 else 'ies'} queued again.", "success")
    if endpoint_id is None:
        return redirect(url_for("staff.webhook_default"))
    return redirect(url_for("staff.webhook_endpoint", endpoint_id=endpoint_id))


@bp.post(f"/webhooks/<{ID}:endpoint_id>/retry-failed")
@admin_required
def webhook_retry_failed(endpoint_id: int):
    _load(endpoint_id)
    return _retry(endpoint_id)


@bp.post("/webhooks/default/retry-failed")
@admin_required
def webhook_default_retry_failed():
    return _retry(None)
