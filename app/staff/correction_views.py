"""Organisers' corrections in the portal: rename or remove a team, edit or delete an adjustment,
void or restore a lobby, and complete a tournament, each irreversible one behind a confirm page
(app.confirmation). The rules and their messages are `services.corrections`'."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, render_template, request, url_for

from app.confirmation import is_confirmed, redirect_after
from app.errors import DomainError
from app.extensions import db
from app.models import Match, Participant, PointAdjustment, Tournament, TournamentStatus
from app.services.standings import final_results
from app.services.tournaments import corrections
from app.staff import bp
from app.staff.common import actor, load, status_for
from app.staff.forms import (
    ActionForm,
    AdjustmentEditForm,
    ReasonForm,
    RenameForm,
    attach_error,
    storable_form,
    whole_number,
)

CONFIRM = "staff/tournaments/confirm.html"


def posted() -> bool:
    return request.method == "POST"


def _confirm_page(tournament: Tournament, form: Any, status: int = 200, **context: Any):
    context.setdefault("blockers", [])
    context.setdefault("hidden", {})
    return render_template(CONFIRM, tournament=tournament, form=form, **context), status


def _participant(tournament: Tournament, key: str) -> Participant:
    try:
        return corrections.participant_by_key(tournament, key)
    except DomainError:
        abort(404)


def _adjustment(tournament: Tournament, adjustment_id: int) -> PointAdjustment:
    try:
        return corrections.adjustment_for(tournament, adjustment_id)
    except DomainError:
        abort(404)


def _lobby(tournament: Tournament, match_id: int) -> Match:
    try:
        return corrections.lobby_for(tournament, match_id)
    except DomainError:
        abort(404)


# --------------------------------------------------------------------------- teams


@bp.route("/tournaments/<slug>/participants/<path:key>/edit", methods=["GET", "POST"])
def participant_edit(slug: str, key: str):
    tournament = load(slug)
    participant = _participant(tournament, key)
    form = RenameForm(obj=participant if not posted() else None)
    status = 200
    if posted():
        if form.validate_on_submit() and storable_form(form):
            try:
                renamed = corrections.rename_participant(
                    tournament.id, participant.key, form.name.data, form.tag.data, actor()
                )
            except DomainError as exc:
                db.session.rollback()
                attach_error(form, exc)
                tournament, status = load(slug), status_for(exc)
                participant = _participant(tournament, key)
            else:
                flash(f"Renamed: {renamed.name} everywhere, at once.", "success")
                return redirect_after(url_for("staff.tournament", slug=slug) + "#participants")
        else:
            status = 400
    return render_template(
        "staff/tournaments/participant_edit.html",
        tournament=tournament,
        participant=participant,
        form=form,
        blockers=corrections.removal_blockers(tournament, participant),
    ), status


@bp.route("/tournaments/<slug>/participants/<path:key>/remove", methods=["GET", "POST"])
def participant_remove(slug: str, key: str):
    tournament = load(slug)
    participant = _participant(tournament, key)
    form = ActionForm()
    action = url_for("staff.participant_remove", slug=slug, key=participant.key)
    cancel = url_for("staff.participant_edit", slug=slug, key=participant.key)
    blockers = corrections.removal_blockers(tournament, participant)
    context = {
        "title": f"Remove {participant.name}?",
        "consequences": [
            f"{participant.name} ({participant.key}) is deleted from {tournament.name}; this cannot be undone.",
            "Its players are taken off the team and its join code stops working.",
            "Its point adjustments, and its lines in voided or cancelled lobbies, are deleted with it.",
            "The removal is written to the audit log with everything deleted.",
        ],
        "blockers": blockers,
        "action": action,
        "cancel_url": cancel,
        "confirm_label": f"Remove {participant.name}",
    }
    if not is_confirmed():
        return _confirm_page(tournament, form, 409 if blockers and posted() else 200, **context)
    if not form.validate_on_submit():
        return _confirm_page(tournament, form, 400, error="The form expired; try again.", **context)
    try:
        removed = corrections.remove_participant(tournament.id, participant.key, actor())
    except DomainError as exc:
        db.session.rollback()
        tournament = load(slug)
        return _confirm_page(tournament, form, status_for(exc), error=exc.message, **context)
    flash(f"Removed {removed['name']} ({removed['key']}).", "success")
    return redirect_after(url_for("staff.tournament", slug=slug) + "#participants")


# --------------------------------------------------------------------------- adjustments


@bp.route("/tournaments/<slug>/adjustments/<dbid:adjustment_id>/edit", methods=["GET", "POST"])
def adjustment_edit(slug: str, adjustment_id: int):
    tournament = load(slug)
    adjustment = _adjustment(tournament, adjustment_id)
    form = AdjustmentEditForm(formdata=None, data={"points": str(adjustment.points), "reason": adjustment.reason})
    status = 200
    if posted():
        form = AdjustmentEditForm()
        if form.validate_on_submit() and storable_form(form):
            try:
                points = whole_number(form.points, required=True)
                corrections.edit_adjustment(
                    tournament.id, adjustment.id, points, form.reason.data, actor(), note=form.note.data
                )
            except DomainError as exc:
                db.session.rollback()
                attach_error(form, exc)
                tournament, status = load(slug), status_for(exc)
                adjustment = _adjustment(tournament, adjustment_id)
            else:
                flash("Adjustment changed.", "success")
                return redirect_after(url_for("staff.tournament", slug=slug) + "#adjustments")
        else:
            status = 400
    return render_template(
        "staff/tournaments/adjustment_edit.html",
        tournament=tournament,
        adjustment=adjustment,
        form=form,
        frozen=tournament.status == TournamentStatus.COMPLETED.value,
    ), status


@bp.route("/tournaments/<slug>/adjustments/<dbid:adjustment_id>/delete", methods=["GET", "POST"])
def adjustment_delete(slug: str, adjustment_id: int):
    tournament = load(slug)
    adjustment = _adjustment(tournament, adjustment_id)
    form = ReasonForm() if posted() else ReasonForm(formdata=None)
    context = {
        "title": f"Delete the {adjustment.points:+d} adjustment of {adjustment.participant.name}?",
        "consequences": [
            f"{adjustment.participant.name} loses the {adjustment.points:+d} points given for "
            f"“{adjustment.reason}”; the standings change at once.",
            "Webhook receivers get leaderboard.updated; nobody is mailed.",
            "The adjustment is kept in the audit log with your reason.",
        ],
        "blockers": [f"{tournament.slug} is completed; its results are frozen"]
        if tournament.status == TournamentStatus.COMPLETED.value
        else [],
        "action": url_for("staff.adjustment_delete", slug=slug, adjustment_id=adjustment.id),
        "cancel_url": url_for("staff.tournament", slug=slug) + "#adjustments",
        "confirm_label": "Delete adjustment",
    }
    if not is_confirmed():
        return _confirm_page(tournament, form, **context)
    if not form.validate_on_submit() or not storable_form(form):
        return _confirm_page(tournament, form, 400, **context)
    try:
        corrections.delete_adjustment(tournament.id, adjustment.id, form.reason.data, actor())
    except DomainError as exc:
        db.session.rollback()
        attach_error(form, exc)
        return _confirm_page(load(slug), form, status_for(exc), **context)
    flash("Adjustment deleted.", "success")
    return redirect_after(url_for("staff.tournament", slug=slug) + "#adjustments")


# --------------------------------------------------------------------------- lobbies


@bp.route("/tournaments/<slug>/lobbies/<dbid:match_id>/void", methods=["GET", "POST"])
def lobby_void(slug: str, match_id: int):
    tournament = load(slug)
    match = _lobby(tournament, match_id)
    form = ReasonForm() if posted() else ReasonForm(formdata=None)
    counts = match.state == "completed"
    context = {
        "title": f"Void lobby {match.key}?",
        "consequences": [
            f"Lobby {match.key} stops counting"
            + (": the standings change at once." if counts else " (it does not count now either)."),
            "Its results are kept: restoring it later makes it count again exactly as it was.",
            "No player is told anything (no “disputed” or “cancelled” mail); webhook receivers get "
            "leaderboard.updated only.",
            "It disappears from the public lobby list and the tournament file export.",
        ],
        "blockers": [f"lobby {match.key} is already voided"] if match.voided_at else [],
        "action": url_for("staff.lobby_void", slug=slug, match_id=match.id),
        "cancel_url": url_for("staff.lobbies_list", slug=slug),
        "confirm_label": f"Void lobby {match.key}",
    }
    if tournament.status == TournamentStatus.COMPLETED.value:
        context["blockers"] = [f"{tournament.slug} is completed; its results are frozen"]
    if not is_confirmed():
        return _confirm_page(tournament, form, **context)
    if not form.validate_on_submit() or not storable_form(form):
        return _confirm_page(tournament, form, 400, **context)
    try:
        corrections.void_lobby(tournament.id, match.id, form.reason.data, actor())
    except DomainError as exc:
        db.session.rollback()
        attach_error(form, exc)
        return _confirm_page(load(slug), form, status_for(exc), **context)
    flash(f"Lobby {match.key} is void: it no longer counts. Restore it from this list if needed.", "success")
    return redirect_after(url_for("staff.lobbies_list", slug=slug))


@bp.post("/tournaments/<slug>/lobbies/<dbid:match_id>/restore")
def lobby_restore(slug: str, match_id: int):
    """Restoring undoes a void, so it needs no confirm page."""
    from app.staff.lobby_views import lobbies_page

    tournament = load(slug)
    match = _lobby(tournament, match_id)
    form = ReasonForm()
    if not form.validate_on_submit() or not storable_form(form):
        return lobbies_page(tournament, 400, "The form expired; try again.")
    try:
        corrections.restore_lobby(tournament.id, match.id, form.reason.data, actor())
    except DomainError as exc:
        db.session.rollback()
        return lobbies_page(load(slug), status_for(exc), exc.message)
    flash(f"Lobby {match.key} is restored and counts again.", "success")
    return redirect_after(url_for("staff.lobbies_list", slug=slug))


# --------------------------------------------------------------------------- completion


def complete_confirm_context(tournament: Tournament) -> dict[str, Any]:
    blockers = []
    if tournament.status != TournamentStatus.LIVE.value:
        blockers.append(f"{tournament.slug} is {tournament.status}; only a live tournament can be completed")
    open_matches = db.session.execute(
        db.select(Match.key, Match.state).where(
            Match.tournament_id == tournament.id,
            Match.state.in_(("live", "disputed")),
            Match.voided_at.is_(None),
        )
    ).all()
    if open_matches:
        listed = ", ".join(f"{k} ({s})" for k, s in open_matches[:10])
        blockers.append(f"matches are still live or disputed: {listed}")
    return {
        "title": f"Complete {tournament.name} and freeze its results?",
        "consequences": [
            "The current standings become the final results; this cannot be undone.",
            "No lobby or series game can be entered, corrected, voided or moved afterwards, and no "
            "adjustment added, changed or deleted; only placement overrides remain.",
            "Players are told the tournament is completed (inbox, and email where they allow it); "
            "webhook receivers get tournament.completed.",
        ],
        "blockers": blockers,
        "action": url_for("staff.tournament_complete", slug=tournament.slug),
        "cancel_url": url_for("staff.tournament", slug=tournament.slug),
        "confirm_label": "Complete and freeze results",
    }


@bp.route("/tournaments/<slug>/complete", methods=["GET", "POST"])
def tournament_complete(slug: str):
    tournament = load(slug)
    form = ActionForm()
    context = complete_confirm_context(tournament)
    if not is_confirmed():
        return _confirm_page(tournament, form, **context)
    if not form.validate_on_submit():
        return _confirm_page(tournament, form, 400, error="The form expired; try again.", **context)
    try:
        final_results.complete_tournament(tournament.id, actor())
    except DomainError as exc:
        db.session.rollback()
        fresh = load(slug)
        return _confirm_page(fresh, form, status_for(exc), error=exc.message, **complete_confirm_context(fresh))
    flash("Completed: the final results are frozen.", "success")
    return redirect_after(url_for("staff.results", slug=slug))
