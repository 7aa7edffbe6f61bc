"""Public pages: the tournament list, a tournament's live page, one series, standings downloads.

Views parse the request, ask the services, and render; `app.live` decides between 304,
a cached body and a fresh render (see its docstring for the cost rule). Nothing a visitor types
in the address bar can make them fail: an unknown tournament, series, stage or match is a 404
page naming it, a malformed parameter a 400 page.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, make_response, redirect, render_template, request, url_for
from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import NotFound as HTTPNotFound

from app.canonical import canonical_query
from app.errors import DomainError
from app.extensions import db
from app.hosts import public_url
from app.live import (
    POLL_SECONDS,
    PRIVATE_CACHE_CONTROL,
    PUBLIC_CACHE_CONTROL,
    Version,
    current_version,
    etag_for,
    live_response,
    render_cache,
    shareable_page,
    shared_board,
    without_session,
)
from app.models import Match, Participant, Series, Tournament, TournamentStatus, utcnow
from app.public import bp, exports, registration_block
from app.rendering import VARY_HEADERS, render_page_or_fragment, wants_fragment
from app.services.inputs.numbers import parse_whole
from app.services.registration.roster_visibility import is_visible
from app.services.standings import board, final_results
from app.services.standings.engine import tournament_ruleset
from app.services.standings.series_summaries import ordered_series, series_row
from app.services.support import list_version
from app.visibility import viewer_is_staff

_UPCOMING = (TournamentStatus.REGISTRATION.value, TournamentStatus.DRAFT.value)


# --------------------------------------------------------------------------------------------
# Read helpers (plain queries for display; the rules live in app.services and app.services.standings.board)


def _tournament(version: Version) -> Tournament:
    tournament = db.session.get(Tournament, version.id)
    if tournament is None:  # deleted between the two reads
        abort(404, description=f"There is no tournament at “{version.slug}”.")
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


def _final_results(tournament: Tournament) -> list[dict[str, Any]] | None:
    if tournament.status != TournamentStatus.COMPLETED.value:
        return None
    return final_results.results(tournament.id)


def _query_filters() -> tuple[str | None, tuple[str, ...]]:
    stage = request.args.get("stage") or None  # `?stage=` (empty) means every stage
    try:
        keys = board.parse_match_keys(request.args.get("matches"))
    except board.FilterError as exc:
        abort(400, description=str(exc))
    return stage, keys


def _page_number(name: str) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return 1
    page = parse_whole(raw, max_digits=6)
    if page is None or page < 1:
        abort(400, description=f"{name}: must be a page number (1, 2, ...), found “{raw[:40]}”.")
    return page


def _embed_urls(tournament: Tournament) -> dict[str, str]:
    # From PUBLIC_BASE_URL, never the request's Host: the page is shared by a cache.
    script = public_url("embed.script")
    widget = public_url("embed.widget", slug=tournament.slug)
    overlay = public_url("embed.widget", slug=tournament.slug, overlay=1)
    code = f'<script src="{script}" data-tournament="{tournament.slug}" async></script>'
    return {"code": code, "widget": widget, "overlay": overlay}


def _live_page(version: Version, kind: tuple[Any, ...], template: str, block: str, context, page_key=()):
    """A page whose `block` updates live: 304 / cached / rendered, page or fragment.
    `page_key`: what else the full page (not its fragment) shows, e.g. the registration block."""
    fragment = wants_fragment()
    fragment_variant = (*kind, "fragment")
    variant = fragment_variant if fragment else (*kind, "page", *page_key)
    shared = fragment or shareable_page()

    def render():
        values = context()
        if isinstance(values, tuple):  # (error page html, status)
            return values
        values.setdefault("live_etag", 'W/"' + etag_for(version, fragment_variant) + '"')
        values.setdefault("shared_page", shared)
        return render_page_or_fragment(template, block, **values)

    return live_response(version, variant, render, shared=shared, vary=VARY_HEADERS)


def _not_found_page(message: str, tournament: Tournament | None = None):
    back = {}
    if tournament is not None:
        back = {"back_url": url_for("public.tournament", slug=tournament.slug), "back_label": "Show all stages"}
    return render_template("public/error.html", status=404, title="Page not found", message=message, **back), 404


# --------------------------------------------------------------------------------------------
# Pages


@bp.get("/favicon.ico")
def favicon():
    response = current_app.send_static_file("favicon.ico")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.get("/")
@canonical_query()
def index():
    """The tournament list, cached by the list's version (app.services.support.list_version): a 304 when
    the viewer has it, else the body rendered once per version, shared by every viewer. Staff
    also see drafts (app.visibility), so theirs is a private render."""
    # Staff see drafts too, but only a list that has drafts needs a page of their own.
    staff_drafts = not without_session() and viewer_is_staff() and _has_drafts()
    if not shareable_page() or staff_drafts:
        response = make_response(_render_index(shared=False, drafts=staff_drafts))
        response.headers["Cache-Control"] = PRIVATE_CACHE_CONTROL
        return response
    version = list_version.current()
    etag = f"index-{version}"
    if request.if_none_match.contains_weak(etag):
        return Response(status=304, headers=[("ETag", f'W/"{etag}"'), ("Cache-Control", PUBLIC_CACHE_CONTROL)])
    cache = render_cache()
    key = ("index", version)
    body = cache.get(key)
    if body is None:
        body = _render_index().encode()
        cache.put(key, body)
    response = Response(body, mimetype="text/html")
    response.headers["ETag"] = f'W/"{etag}"'
    response.headers["Cache-Control"] = PUBLIC_CACHE_CONTROL
    return response


def _has_drafts() -> bool:
    return (
        db.session.scalar(select(Tournament.id).where(Tournament.status == TournamentStatus.DRAFT.value).limit(1))
        is not None
    )


def _render_index(shared: bool = True, drafts: bool = False) -> str:
    listed = [] if drafts else [Tournament.status != TournamentStatus.DRAFT.value]
    team_count = (
        select(func.count(Participant.id))
        .where(Participant.tournament_id == Tournament.id, is_visible(Participant.id))
        .correlate(Tournament)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(Tournament, team_count)
        .where(*listed)
        .order_by(
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
    return render_template("public/index.html", groups=groups, shared_page=shared)


@bp.get("/tournaments/<slug>/")
@canonical_query("stage", "matches", "lobbies")
def tournament(slug: str):
    version = current_version(slug)
    stage, match_keys = _query_filters()
    lobbies_page = _page_number("lobbies")
    # The registration block is on the full page only (not the polled fragment), so it is
    # worked out only for it; its state is part of the page's cache key (see registration_block).
    registration = None if wants_fragment() else registration_block.state_for(_tournament(version))
    page_key = registration_block.cache_key(registration) if registration else ()

    def context():
        tournament = _tournament(version)
        common = {
            "tournament": tournament,
            # A battle-royale page shows its final results in the standings block (app.services.standings.shown).
            "results": None if tournament.is_battle_royale else _final_results(tournament),
            "poll_seconds": POLL_SECONDS,
            "now": utcnow(),
            "embed": _embed_urls(tournament),
            **registration_block.context(tournament, registration),
        }
        if not tournament.is_battle_royale:
            return {**common, "series_rows": [series_row(s) for s in ordered_series(tournament.id)]}
        try:
            filters = board.resolve_filters(tournament, stage, match_keys)
        except board.FilterError as exc:
            return _not_found_page(str(exc), tournament)
        return {
            **common,
            **shared_board(version, tournament, filters),
            "ruleset": tournament_ruleset(tournament),
            "stages": board.stages(tournament.id),
            "stage": stage,
            "match_keys": match_keys,
            "lobbies": board.lobby_page(tournament, stage, lobbies_page),
            "lobbies_page": lobbies_page,
        }

    if not version.is_battle_royale:
        # A series tournament ignores the battle-royale filters: one variant, whatever they say.
        kind = ("tournament", None, (), 1)
        return _live_page(version, kind, "public/tournament_series.html", "series_list", context, page_key)
    if lobbies_page > 1:
        # Bounded to real pages: past the last is a redirect to the last, not a new variant.
        last = render_cache().memo(
            (version.stamp(), "lobby_pages", stage), lambda: board.lobby_page_count(version.id, stage)
        )
        if lobbies_page > last:
            args = {k: request.args[k] for k in ("stage", "matches") if k in request.args}
            if last > 1:
                args["lobbies"] = last
            return redirect(url_for("public.tournament", slug=version.slug, **args))
    kind = ("tournament", stage, match_keys, lobbies_page)
    return _live_page(version, kind, "public/tournament_br.html", "standings", context, page_key)


@bp.get("/tournaments/<slug>/series/<series_key>/")
@canonical_query()
def series(slug: str, series_key: str):
    version = current_version(slug)

    def context():
        tournament = _tournament(version)
        found = _series_or_404(tournament, series_key)
        return {
            "tournament": tournament,
            "row": series_row(found),
            "series_title": found.name or found.key,
            "poll_seconds": POLL_SECONDS,
            "now": utcnow(),
        }

    return _live_page(version, ("series", series_key), "public/series.html", "series", context)


def _export(slug: str, extension: str):
    version = current_version(slug)
    stage, match_keys = _query_filters()

    def render():
        tournament = _tournament(version)
        if not tournament.is_battle_royale:
            return _not_found_page(
                f"{tournament.name} is a {tournament.game_name} tournament: it has series, not standings."
            )
        try:
            filters = board.resolve_filters(tournament, stage, match_keys)
        except board.FilterError as exc:
            return _not_found_page(str(exc), tournament)
        rows = board.standings(tournament, filters)
        return exports.standings_csv(rows) if extension == "csv" else exports.standings_json(rows)

    name = exports.download_name(version.slug, stage, match_keys, extension)
    mimetype = "text/csv" if extension == "csv" else "application/json"
    return live_response(
        version,
        ("export", extension, stage, match_keys),
        render,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/tournaments/<slug>/standings.csv")
@canonical_query("stage", "matches")
def standings_csv(slug: str):
    return _export(slug, "csv")


@bp.get("/tournaments/<slug>/standings.json")
@canonical_query("stage", "matches")
def standings_json(slug: str):
    return _export(slug, "json")


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
