"""Series in the portal: create one, add or record its games, forfeit; a game's states are
moved by `lobby_views.match_state` like any match's, and completed here with its result."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for

from app.errors import DomainError, ValidationError
from app.extensions import db
from app.models import Tournament, TournamentStatus
from app.services.inputs.numbers import parse_whole
from app.services.results import series as series_service
from app.services.tournaments import states
from app.staff import bp
from app.staff.common import actor, conflict_message, load, participant_choices, status_for
from app.staff.forms import (
    ActionForm,
    ForfeitForm,
    GameResultForm,
    MatchStateForm,
    SeriesForm,
    attach_error,
    storable_form,
    whole_number,
)


def series_page(
    tournament: Tournament,
    *,
    status: int = 200,
    error: str | None = None,
    form: SeriesForm | None = None,
    failed_key: str | None = None,
    game_form: GameResultForm | None = None,
    forfeit_form: ForfeitForm | None = None,
    failed_state: dict[str, Any] | None = None,
):
    form = form or SeriesForm(formdata=None)
    form.participant_a.choices = participant_choices(tournament, "Choose a team")
    form.participant_b.choices = participant_choices(tournament, "Choose a team")
    page = render_template(
        "staff/tournaments/series.html",
        tournament=tournament,
        series_rows=series_service.list_series(tournament),
        form=form,
        transitions=states.MATCH_TRANSITIONS,
        state_form=MatchStateForm(formdata=None),
        action_form=ActionForm(formdata=None),
        failed_key=failed_key,
        game_form=game_form,
        forfeit_form=forfeit_form,
        frozen=tournament.status == TournamentStatus.COMPLETED.value,
        error=error,
        failed_state=failed_state,
    )
    return page, status


def _series_only(tournament: Tournament):
    if tournament.is_battle_royale:
        flash(f"{tournament.game_name} is battle royale; enter lobbies instead.", "info")
        return redirect(url_for("staff.lobbies_list", slug=tournament.slug))
    return None


@bp.get("/tournaments/<slug>/series/")
def series_list(slug: str):
    tournament = load(slug)
    return _series_only(tournament) or series_page(tournament)


@bp.post("/tournaments/<slug>/series/")
def series_create(slug: str):
    tournament = load(slug)
    form = SeriesForm()
    form.participant_a.choices = participant_choices(tournament, "Choose a team")
    form.participant_b.choices = participant_choices(tournament, "Choose a team")
    if form.validate_on_submit() and storable_form(form):
        try:
            created = series_service.create_series(
                tournament.id,
                form.key.data,
                form.name.data,
                parse_whole(form.best_of.data),
                form.participant_a.data,
                form.participant_b.data,
                actor(),
            )
        except DomainError as exc:
            db.session.rollback()
            attach_error(form, exc)
            return series_page(load(slug), status=status_for(exc), form=form)
        flash(f"Created series {created.key}.", "success")
        return redirect(url_for("staff.series_list", slug=slug) + f"#series-{created.key}")
    return series_page(tournament, status=400, form=form)


@bp.post("/tournaments/<slug>/series/<key>/games")
def series_add_game(slug: str, key: str):
    tournament = load(slug)
    form = ActionForm()
    if not form.validate_on_submit():
        return series_page(tournament, status=400, error="The form expired; try again.")
    try:
        game = series_service.add_game(tournament.id, key, actor())
    except DomainError as exc:
        db.session.rollback()
        return series_page(load(slug), status=status_for(exc), error=exc.message)
    flash(f"Added game {game.game_number} ({game.key}).", "success")
    return redirect(url_for("staff.series_list", slug=slug) + f"#series-{key}")


def _score(form: GameResultForm, sides: tuple[str, str]) -> dict[str, int] | None:
    a = whole_number(form.score_a)
    b = whole_number(form.score_b)
    if a is None and b is None:
        return None
    if a is None or b is None:
        raise ValidationError("score_a: give both scores, or neither")
    return {sides[0]: a, sides[1]: b}


@bp.post("/tournaments/<slug>/series/<key>/record")
def series_record(slug: str, key: str):
    """A played game entered with its winner and score; or, with a game id, an existing game
    completed with its result (the match-state rule for series games)."""
    tournament = load(slug)
    form = GameResultForm()
    try:
        series = series_service.get_series(tournament, key)
    except DomainError as exc:
        return series_page(tournament, status=exc.status, error=exc.message)
    sides = (series.participant_a.key, series.participant_b.key)
    form.winner.choices = {"": "No winner (drawn map)", **{s: s for s in sides}}
    if form.validate_on_submit() and storable_form(form):
        try:
            score = _score(form, sides)
            game_id = form.game.data or ""
            if game_id:
                if not (game_id.isascii() and game_id.isdigit() and len(game_id) < 10):
                    raise ValidationError("game: not a game of this series")
                states.change_match_state(
                    tournament.id, int(game_id), "completed", actor(), winner=form.winner.data or None, score=score
                )
            else:
                series_service.record_game(tournament.id, key, form.winner.data or None, score, actor())
        except DomainError as exc:
            db.session.rollback()
            attach_error(form, exc)
            return series_page(
                load(slug), status=status_for(exc), error=conflict_message(exc), failed_key=key, game_form=form
            )
        flash(f"Recorded a game of {key}.", "success")
        return redirect(url_for("staff.series_list", slug=slug) + f"#series-{key}")
    return series_page(tournament, status=400, failed_key=key, game_form=form)


@bp.post("/tournaments/<slug>/series/<key>/forfeit")
def series_forfeit(slug: str, key: str):
    tournament = load(slug)
    form = ForfeitForm()
    form.winner.choices = participant_choices(tournament)
    if form.validate_on_submit() and storable_form(form):
        try:
            series_service.forfeit(tournament.id, key, form.winner.data, form.reason.data, actor())
        except DomainError as exc:
            db.session.rollback()
            attach_error(form, exc)
            return series_page(
                load(slug), status=status_for(exc), error=conflict_message(exc), failed_key=key, forfeit_form=form
            )
        flash(f"Series {key} decided by forfeit.", "success")
        return redirect(url_for("staff.series_list", slug=slug) + f"#series-{key}")
    return series_page(tournament, status=400, failed_key=key, forfeit_form=form)
