"""Staff pages more than one view module renders: the lobby list, the series list, the confirm
page and the completion flow (a view answers a failed form with the list it came from, and the
tournament page's status form completes through the completion confirm page). Views import from
here, never from another view module."""

from __future__ import annotations

from typing import Any

from flask import flash, render_template, url_for
from sqlalchemy import func, select

from app.confirmation import is_confirmed, redirect_after
from app.errors import DomainError
from app.extensions import db
from app.models import Match, MatchResult, Tournament, TournamentStatus
from app.services.results import series as series_service
from app.services.standings import final_results
from app.services.tournaments import states
from app.staff.common import actor, load, participant_choices, status_for
from app.staff.forms import ActionForm, ForfeitForm, GameResultForm, MatchStateForm, SeriesForm

CONFIRM = "staff/tournaments/confirm.html"


def confirm_page(tournament: Tournament, form: Any, status: int = 200, **context: Any):
    context.setdefault("blockers", [])
    context.setdefault("hidden", {})
    return render_template(CONFIRM, tournament=tournament, form=form, **context), status


def lobbies_page(
    tournament: Tournament, status: int = 200, error: str | None = None, failed_state: dict[str, Any] | None = None
):
    team_counts = (
        select(func.count(MatchResult.id)).where(MatchResult.match_id == Match.id).correlate(Match).scalar_subquery()
    )
    rows = db.session.execute(
        select(Match, team_counts)
        .where(Match.tournament_id == tournament.id, Match.series_id.is_(None))
        .order_by(Match.position.desc(), Match.id.desc())
    ).all()
    page = render_template(
        "staff/tournaments/lobbies.html",
        tournament=tournament,
        lobbies=rows,
        transitions=states.MATCH_TRANSITIONS,
        state_form=MatchStateForm(formdata=None),
        frozen=tournament.status == TournamentStatus.COMPLETED.value,
        error=error,
        failed_state=failed_state,
    )
    return page, status


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


def complete_tournament(slug: str):
    """The completion confirm page and its POST: the tournament page's status form sends a
    completion here too, since completing cannot be undone."""
    tournament = load(slug)
    form = ActionForm()
    context = complete_confirm_context(tournament)
    if not is_confirmed():
        return confirm_page(tournament, form, **context)
    if not form.validate_on_submit():
        return confirm_page(tournament, form, 400, error="The form expired; try again.", **context)
    try:
        final_results.complete_tournament(tournament.id, actor())
    except DomainError as exc:
        db.session.rollback()
        fresh = load(slug)
        return confirm_page(fresh, form, status_for(exc), error=exc.message, **complete_confirm_context(fresh))
    flash("Completed: the final results are frozen.", "success")
    return redirect_after(url_for("staff.results", slug=slug))
