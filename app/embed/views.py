"""Widget views: parse and check the options, then render through the same live machinery as the
public pages (one indexed lookup and a 304 for an unchanged poll; one render per version).

Options (anything else is a 400 page naming the option):
- `theme`: `light` or `dark`; absent = follow the viewer's system setting.
- `limit`: rows (or series) shown, 1-100, default 10.
- `overlay`: `1` for a stream overlay (transparent background, large type, no links or chrome).
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, render_template, request
from werkzeug.exceptions import HTTPException

from app.canonical import canonical_query
from app.embed import bp
from app.extensions import db
from app.hosts import public_url
from app.live import POLL_SECONDS, current_version, etag_for, live_response, shared_board
from app.models import Tournament, utcnow
from app.rendering import VARY_HEADERS, render_page_or_fragment, wants_fragment
from app.security import allow_framing
from app.services.inputs.numbers import parse_whole
from app.services.standings import board
from app.services.standings.series_summaries import ordered_series, series_row

THEMES = ("light", "dark")
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
EMBED_JS_MAX_AGE = 300


def _options() -> tuple[str | None, int, bool]:
    theme = request.args.get("theme") or None
    if theme is not None and theme not in THEMES:
        abort(400, description=f"theme: must be light or dark, found “{theme[:40]}”.")
    raw_limit = request.args.get("limit") or ""
    limit = DEFAULT_LIMIT
    if raw_limit:
        parsed = parse_whole(raw_limit, max_digits=6)
        if parsed is None or not 1 <= parsed <= MAX_LIMIT:
            abort(400, description=f"limit: must be a whole number from 1 to {MAX_LIMIT}, found “{raw_limit[:40]}”.")
        limit = parsed
    raw_overlay = (request.args.get("overlay") or "0").lower()
    if raw_overlay not in ("0", "1", "true", "false"):
        abort(400, description=f"overlay: must be 1 or 0, found “{raw_overlay[:40]}”.")
    return theme, limit, raw_overlay in ("1", "true")


@bp.get("/embed/<slug>")
@allow_framing
@canonical_query("theme", "limit", "overlay")
def widget(slug: str):
    theme, limit, overlay = _options()
    version = current_version(slug)
    kind = ("embed", theme, limit, overlay)
    fragment_variant = (*kind, "fragment")
    variant = fragment_variant if wants_fragment() else (*kind, "page")

    def render():
        tournament = db.session.get(Tournament, version.id)
        if tournament is None:
            abort(404, description=f"There is no tournament at “{slug}”.")
        context: dict[str, Any] = {
            "tournament": tournament,
            "theme": theme,
            "limit": limit,
            "overlay": overlay,
            "poll_seconds": POLL_SECONDS,
            "now": utcnow(),
            "live_etag": 'W/"' + etag_for(version, fragment_variant) + '"',
            "page_url": public_url("public.tournament", slug=tournament.slug),
        }
        if tournament.is_battle_royale:
            rows = shared_board(version, tournament, board.Filters())["standings"]
            context.update(rows=rows[:limit], more=max(0, len(rows) - limit))
        else:
            all_series = ordered_series(tournament.id)
            context.update(
                series_rows=[series_row(s) for s in all_series[:limit]], more=max(0, len(all_series) - limit)
            )
        return render_page_or_fragment("embed/widget.html", "widget", **context)

    return live_response(version, variant, render, vary=VARY_HEADERS)


@bp.get("/embed.js")
@allow_framing
def script():
    response = current_app.send_static_file("js/embed.js")
    response.headers["Content-Type"] = "text/javascript; charset=utf-8"
    response.headers["Cache-Control"] = f"public, max-age={EMBED_JS_MAX_AGE}"
    return response


@bp.errorhandler(HTTPException)
def _error(exc: HTTPException):
    """Errors inside someone else's page: a small framed message, never the site layout."""
    return render_template("embed/error.html", status=exc.code, message=exc.description), exc.code or 500
