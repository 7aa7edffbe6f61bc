"""Final results of a completed tournament: the frozen order, overrides previewed before they
are confirmed, and clearing an override. The rules are app.services.standings.overrides', the API's own."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from app.errors import Conflict, DomainError
from app.extensions import db
from app.models import Tournament, TournamentStatus
from app.services.inputs.numbers import parse_whole
from app.services.standings import final_results
from app.services.standings import overrides as placement_overrides
from app.staff import bp
from app.staff.common import actor, load, status_for
from app.staff.forms import ActionForm, ClearOverrideForm, OverrideForm, attach_error, storable_form, whole_number


def _version(form: Any) -> int | None:
    text = form.version.data or ""
    return parse_whole(text)


def _unplaced(form: Any) -> str | None:
    """Messages that belong to no field (an unknown team, a state conflict) go at the top."""
    messages = list(form.form_errors) + list(form.csrf_token.errors or [])
    return "; ".join(messages) or None


def results_page(
    tournament: Tournament,
    status: int = 200,
    *,
    error: str | None = None,
    override_form: OverrideForm | None = None,
    clear_form: ClearOverrideForm | None = None,
    preview: dict[str, Any] | None = None,
):
    completed = tournament.status == TournamentStatus.COMPLETED.value
    rows = final_results.results(tournament.id) if completed else []
    failed = None
    if override_form is not None:
        failed = override_form.participant.data
    elif clear_form is not None:
        failed = clear_form.participant.data
    page = render_template(
        "staff/tournaments/results.html",
        tournament=tournament,
        completed=completed,
        rows=rows,
        version=tournament.results_version,
        override_form=override_form,
        clear_form=clear_form,
        blank_override=OverrideForm(formdata=None),
        blank_clear=ClearOverrideForm(formdata=None),
        action_form=ActionForm(formdata=None),
        failed=failed,
        preview=preview,
        error=error,
    )
    return page, status


@bp.get("/tournaments/<slug>/results/")
def results(slug: str):
    return results_page(load(slug))


@bp.post("/tournaments/<slug>/results/override")
def results_override(slug: str):
    """Two steps on one address: without `confirm`, show the order the override would give;
    with it, apply the override if the results are still the ones previewed."""
    tournament = load(slug)
    form = OverrideForm()
    if not form.validate_on_submit() or not storable_form(form):
        return results_page(tournament, 400, error=_unplaced(form), override_form=form)
    confirm = "confirm" in request.form
    try:
        new_rank = whole_number(form.new_rank, required=True)
        if not confirm:
            preview = placement_overrides.preview_override(
                tournament.id, form.participant.data, new_rank, form.reason.data
            )
            form.version.data = str(preview["version"])
            return results_page(tournament, override_form=form, preview=preview)
        outcome = placement_overrides.override_placement(
            tournament.id,
            form.participant.data,
            new_rank,
            form.reason.data,
            actor(),
            expected_version=_version(form),
        )
    except Conflict as exc:
        db.session.rollback()
        fresh = load(slug)
        if fresh.status != TournamentStatus.COMPLETED.value:
            return results_page(fresh, 409, error=exc.message)
        # Show the order as it is now, previewed again, so the second person decides on it.
        try:
            preview = placement_overrides.preview_override(fresh.id, form.participant.data, new_rank, form.reason.data)
            form.version.data = str(preview["version"])
        except DomainError:
            preview = None
        return results_page(fresh, 409, error=exc.message, override_form=form, preview=preview)
    except DomainError as exc:
        db.session.rollback()
        attach_error(form, exc)
        return results_page(load(slug), status_for(exc), error=_unplaced(form), override_form=form)
    name = _team_name(tournament, outcome["participant_id"])
    flash(f"{name} pinned at rank {outcome['new_rank']} (was {outcome['old_rank']}).", "success")
    return redirect(url_for("staff.results", slug=slug))


def _team_name(tournament, key: str) -> str:
    """Staff read team names, not ids."""
    return next((p.name for p in tournament.participants if p.key == key), key)


@bp.post("/tournaments/<slug>/results/clear")
def results_clear(slug: str):
    tournament = load(slug)
    form = ClearOverrideForm()
    if not form.validate_on_submit() or not storable_form(form):
        return results_page(tournament, 400, error=_unplaced(form), clear_form=form)
    try:
        outcome = placement_overrides.clear_override(
            tournament.id, form.participant.data, form.reason.data, actor(), expected_version=_version(form)
        )
    except DomainError as exc:
        db.session.rollback()
        attach_error(form, exc)
        return results_page(load(slug), status_for(exc), error=_unplaced(form), clear_form=form)
    name = _team_name(tournament, outcome["participant_id"])
    flash(f"Override of {name} cleared; now rank {outcome['new_rank']}.", "success")
    return redirect(url_for("staff.results", slug=slug))
