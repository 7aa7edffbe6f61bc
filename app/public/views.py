"""Public pages: the tournament list, a tournament's live page, one series.

Views parse the request, ask the leaderboard service, and render. Nothing a visitor types in
the address bar can make them fail: an unknown tournament or series is a 404 page, an unknown
stage an empty table with a message.
"""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request
from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import NotFound as HTTPNotFound

from app.errors import DomainError
from app.extensions import db
from app.models import Match, Participant, Series, Tournament, TournamentStatus, utcnow
from app.public import bp
from app.public.rendering import render_page_or_fragment
from app.services.leaderboard import LeaderboardService, summarise_series, tournament_ruleset

LIVE_POLL_SECONDS = 10
# Finished (or not yet started) events change rarely: a placement override, a new lobby.
IDLE_POLL_SECONDS = 60

_UPCOMING = (TournamentStatus.REGISTRATION.value, TournamentStatus.DRAFT.value)


# --------------------------------------------------------------------------------------------
# Read helpers (plain queries for display; the rules live in app.services.leaderboard)


def _tournament_or_404(slug: str) -> Tournament:
    tournament = db.session.scalar(select(Tournament).where(Tournament.slug == slug))
    if tournament is None:
        abort(404, description=f"There is no tournament at “{slug}”.")
    return tournament


def _series_or_404(tournament: Tournament, series_key: str) -> Series:
    found = db.session.scalar(
        select(Series)
        .where(Series.tournament_id == tournament.id, Series.key == series_key)
        .options(selectinload(Series.games).selectinload(Match.winner))
    )
    if found is None:
        abort(404, description=f"{tournament.name} has no series “{series_key}”.")
    return found


def _stages(tournament_id: int) -> list[str]:
    """The tournament's stages in the order they were first played (or scheduled)."""
    rows = db.session.execute(
        select(Match.stage, func.min(Match.position), func.min(Match.id))
        .where(Match.tournament_id == tournament_id, Match.stage.is_not(None), Match.series_id.is_(None))
        .group_by(Match.stage)
    ).all()
    return [stage for stage, _position, _id in sorted(rows, key=lambda row: (row[1], row[2], row[0]))]


def _lobbies(tournament_id: int, stage: str | None) -> list[Match]:
    query = (
        select(Match)
        .where(Match.tournament_id == tournament_id, Match.series_id.is_(None))
        .order_by(Match.position, Match.id)
    )
    if stage is not None:
        query = query.where(Match.stage == stage)
    return list(db.session.scalars(query))


def _poll_seconds(tournament: Tournament) -> int:
    return LIVE_POLL_SECONDS if tournament.status == TournamentStatus.LIVE.value else IDLE_POLL_SECONDS


def _final_results(tournament: Tournament) -> list[dict[str, Any]] | None:
    if tournament.status != TournamentStatus.COMPLETED.value:
        return None
    return LeaderboardService.results(tournament.id)


def _series_rows(tournament: Tournament) -> list[dict[str, Any]]:
    all_series = db.session.scalars(
        select(Series)
        .where(Series.tournament_id == tournament.id)
        .options(selectinload(Series.participant_a), selectinload(Series.participant_b), selectinload(Series.games))
        .order_by(Series.position, Series.id)
    )
    return [_series_view(series) for series in all_series]


def _series_view(series: Series) -> dict[str, Any]:
    summary = summarise_series(series, series.games)
    names = {series.participant_a.key: series.participant_a.name, series.participant_b.key: series.participant_b.name}
    winner = summary["series_winner_id"]
    return {
        "series": series,
        "summary": summary,
        "a": series.participant_a,
        "b": series.participant_b,
        "score_a": summary["series_score"][series.participant_a.key],
        "score_b": summary["series_score"][series.participant_b.key],
        "winner_name": names.get(winner) if winner else None,
    }


# --------------------------------------------------------------------------------------------
# Pages


@bp.get("/")
def index() -> str:
    team_count = (
        select(func.count(Participant.id))
        .where(Participant.tournament_id == Tournament.id)
        .correlate(Tournament)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(Tournament, team_count).order_by(
            case({TournamentStatus.REGISTRATION.value: 0}, value=Tournament.status, else_=1),
            Tournament.completed_at.desc().nulls_last(),
            Tournament.created_at.desc(),
            Tournament.id.desc(),
        )
    ).all()
    groups: dict[str, list[dict[str, Any]]] = {"live": [], "upcoming": [], "completed": []}
    for tournament, teams in rows:
        if tournament.status == TournamentStatus.LIVE.value:
            group = "live"
        elif tournament.status in _UPCOMING:
            group = "upcoming"
        else:
            group = "completed"
        groups[group].append({"tournament": tournament, "teams": teams})
    return render_template("public/index.html", groups=groups)


@bp.get("/tournaments/<slug>/")
def tournament(slug: str):
    tournament = _tournament_or_404(slug)
    if tournament.is_battle_royale:
        return _battle_royale_page(tournament)
    return render_page_or_fragment(
        "public/tournament_series.html",
        "series_list",
        tournament=tournament,
        results=_final_results(tournament),
        series_rows=_series_rows(tournament),
        poll_seconds=_poll_seconds(tournament),
        now=utcnow(),
    )


def _battle_royale_page(tournament: Tournament):
    stage = request.args.get("stage") or None  # `?stage=` (empty) means every stage
    stages = _stages(tournament.id)
    unknown_stage = stage is not None and stage not in stages
    if unknown_stage:
        standings: list[dict[str, Any]] = []
        lobbies: list[Match] = []
    else:
        standings = LeaderboardService.calculate_br_standings(tournament.id, stage=stage)
        lobbies = _lobbies(tournament.id, stage)
    return render_page_or_fragment(
        "public/tournament_br.html",
        "standings",
        tournament=tournament,
        ruleset=tournament_ruleset(tournament),
        results=_final_results(tournament),
        standings=standings,
        show_adjustments=any(row["adjustment_points"] for row in standings),
        stages=stages,
        stage=stage,
        unknown_stage=unknown_stage,
        lobbies=lobbies,
        poll_seconds=_poll_seconds(tournament),
        now=utcnow(),
    )


@bp.get("/tournaments/<slug>/series/<series_key>/")
def series(slug: str, series_key: str):
    tournament = _tournament_or_404(slug)
    found = _series_or_404(tournament, series_key)
    return render_page_or_fragment(
        "public/series.html",
        "series",
        tournament=tournament,
        row=_series_view(found),
        series_title=found.name or found.key,
        poll_seconds=_poll_seconds(tournament),
        now=utcnow(),
    )


# --------------------------------------------------------------------------------------------
# Errors: HTML pages in the site layout, never a traceback


@bp.errorhandler(HTTPNotFound)
def _not_found(exc: HTTPNotFound):
    return render_template("public/error.html", status=404, title="Page not found", message=exc.description), 404


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError):
    db.session.rollback()
    title = "Not found" if exc.status == 404 else "This page is not available"
    return render_template("public/error.html", status=exc.status, title=title, message=exc.message), exc.status
