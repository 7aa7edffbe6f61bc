"""Announcements from the portal: a message to every team of one tournament (inbox and email),
with the ones sent before. The rules (who is told, the limits, the one-time token) are
app/services/announcements.py's."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from app.errors import DomainError
from app.extensions import db
from app.models import Tournament
from app.services import announcements
from app.staff import bp
from app.staff.common import actor, load, status_for
from app.staff.forms import AnnouncementForm, attach_error, storable_form

TEMPLATE = "staff/tournaments/announcements.html"


def _page(tournament: Tournament, form: AnnouncementForm, status: int = 200, error: str | None = None):
    players, teams = announcements.audience_summary(tournament.id)
    page = render_template(
        TEMPLATE,
        tournament=tournament,
        form=form,
        players=players,
        teams=teams,
        sent=announcements.history(tournament.id),
        error=error,
    )
    return page, status


@bp.route("/tournaments/<slug>/announcements", methods=["GET", "POST"])
def announcements_page(slug: str):
    tournament = load(slug)
    if request.method == "GET":
        form = AnnouncementForm(formdata=None)
        form.token.data = announcements.new_token()
        return _page(tournament, form)
    form = AnnouncementForm()
    if not form.validate_on_submit() or not storable_form(form):
        if form.csrf_token.errors:
            form.token.data = announcements.new_token()
        return _page(tournament, form, 400)
    try:
        sent, new = announcements.announce(
            tournament.id, form.subject.data, form.message.data, form.token.data, actor()
        )
    except DomainError as exc:
        db.session.rollback()
        attach_error(form, exc)
        if exc.message.startswith("token:"):
            form.token.data = announcements.new_token()
        return _page(load(slug), form, status_for(exc))
    if new:
        told = f"{sent.recipients} player{'s' if sent.recipients != 1 else ''}"
        flash(f"Announcement “{sent.subject}” sent to {told}.", "success")
    else:
        flash(f"“{sent.subject}” was already sent; it was not sent again.", "info")
    return redirect(url_for("staff.announcements_page", slug=slug) + f"#announcement-{sent.id}")
