"""Live public responses at a cost that does not grow with the audience.

Rule: everything a public tournament page, fragment, widget or export shows is a function of the
tournament's `results_version` (every change that alters it bumps the version under the
tournament lock, `app.services.results.locks.lock_tournament`) and of the address (filters, variant).

- A poll whose `If-None-Match` names the current version costs one indexed lookup of the
  tournament row by slug and is answered `304 Not Modified` without rendering.
- Otherwise the body is rendered once per (tournament, version, variant) per process and kept in
  a small bounded LRU cache: every later viewer of that version is served the stored bytes.
  The cache is keyed by the database version, so several workers never serve stale data: a new
  version is a new key everywhere.
- The ETag is weak (the body carries the time it was rendered, which differs between workers)
  and names the tournament, its creation time (ids can be reused after a delete on SQLite), the
  version and a digest of the variant (page or fragment, filters).
- `Cache-Control: public, max-age=1, s-maxage=1` lets a browser, a proxy or a CDN absorb the
  viewers for a second. Pages never carry the viewer: a logged-in viewer gets the same body as
  everyone, and their own header arrives through a small private fragment (`/account-nav`).
  Only a page with a flashed message waiting for this visitor is rendered for them alone,
  `private` and not stored; fragments and the widget never read the session.
- Variants are bounded to real values: unknown query keys are ignored (never part of a key),
  a lobby page past the last redirects to the last, an unknown stage is a 404 that is not
  stored, and the Host is not part of any key (links come from PUBLIC_BASE_URL, app.hosts).

The browser side (static/js/app.js) sends the fragment's ETag back in `If-None-Match` on every
htmx poll; a request with an author-set `If-None-Match` bypasses the browser's HTTP cache, so
the 304 reaches htmx untouched, and the htmx config in base.html swaps nothing on a 304.

Drafts are seen by staff only (`app.visibility`): everyone else gets the 404 of an unknown
tournament, and a staff member's view of a draft is always rendered for them alone (`private`,
never stored), so it can never be served from the cache to anyone else.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Response, abort, current_app, make_response, request, session
from sqlalchemy import bindparam, select

from app.extensions import db
from app.models import BATTLE_ROYALE_GAMES, Tournament, TournamentStatus
from app.services.standings import board as standings_board
from app.visibility import viewer_is_staff

# Results must reach an open page within 2 seconds; an unchanged poll is a 304 costing one
# indexed lookup, so every page (and the widget) polls at this pace whatever the tournament's status.
POLL_SECONDS = 1
PUBLIC_CACHE_CONTROL = "public, max-age=1, s-maxage=1"
PRIVATE_CACHE_CONTROL = "private, no-cache"
CACHE_ENTRIES = 512
GZIP_MIN_BYTES = 1024


@dataclass(frozen=True)
class Version:
    """The one row an unchanged poll reads."""

    id: int
    slug: str
    results_version: int
    created_at: datetime | None
    game: str
    status: str = "live"

    @property
    def is_draft(self) -> bool:
        return self.status == TournamentStatus.DRAFT.value

    @property
    def is_battle_royale(self) -> bool:
        return self.game in BATTLE_ROYALE_GAMES

    def stamp(self) -> str:
        created = int(self.created_at.timestamp() * 1000) if self.created_at else 0
        return f"{self.id}.{created}.{self.results_version}"


# Built once: the statement is compiled once per engine and run on a Core connection, which
# keeps an unchanged poll within a small constant of /healthz's `SELECT 1`.
_VERSION_QUERY = select(
    Tournament.id,
    Tournament.slug,
    Tournament.results_version,
    Tournament.created_at,
    Tournament.game,
    Tournament.status,
).where(Tournament.slug == bindparam("slug"))


def current_version(slug: str) -> Version:
    """The tournament's identity and results version by slug (one indexed lookup), or 404.

    A draft answers 404 exactly like an unknown slug, except to a logged-in staff member (the
    session is read only for drafts, so a public poll still never touches it)."""
    # A pooled connection of its own, not the session's: an unchanged poll then never starts a
    # session transaction at all.
    with db.engine.connect() as connection:
        row = connection.execute(_VERSION_QUERY, {"slug": slug}).first()
    if row is None or (row.status == TournamentStatus.DRAFT.value and not viewer_is_staff()):
        abort(404, description=f"There is no tournament at “{slug}”.")
    return Version(row.id, row.slug, row.results_version or 0, row.created_at, row.game, row.status)


def etag_for(version: Version, variant: tuple[Hashable, ...]) -> str:
    digest = hashlib.blake2s(repr(variant).encode(), digest_size=6).hexdigest()
    return f"t{version.stamp()}-{digest}"


class RenderCache:
    """A bounded, thread-safe LRU of rendered bodies keyed by (version stamp, variant)."""

    def __init__(self, size: int = CACHE_ENTRIES) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.renders = 0  # how many bodies were rendered (tests and the benchmark read it)

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            body = self._items.get(key)
            if body is not None:
                self._items.move_to_end(key)
            return body

    def put(self, key: Hashable, body: bytes, *, rendered: bool = True) -> None:
        with self._lock:
            self.renders += int(rendered)
            self._items[key] = body
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def memo(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """A computed value (e.g. a board shared by the page, its fragment and the widget) kept
        like a body: the key must contain the version stamp."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = compute()
        with self._lock:
            self._values[key] = value
            while len(self._values) > self.size:
                self._values.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._values.clear()
            self.renders = 0


def render_cache() -> RenderCache:
    """The cache of this app (one per process in production; tests build many apps)."""
    cache = current_app.extensions.get("deltacrown_render_cache")
    if cache is None:
        cache = current_app.extensions["deltacrown_render_cache"] = RenderCache()
    return cache


def without_session() -> bool:
    """True when the request carries neither a session nor a "remember me" cookie: nobody is
    logged in and nothing waits in a session. Looking no further keeps the session untouched
    (no cookie, no `Vary: Cookie`)."""
    cookies = request.cookies
    session_cookie = current_app.config.get("SESSION_COOKIE_NAME", "session")
    remember_cookie = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    return session_cookie not in cookies and remember_cookie not in cookies


def shareable_page() -> bool:
    """True when a full page may be the body shared by every viewer. Logged-in viewers get it
    too: the shared body carries the anonymous header, and the page fetches their own header
    from `/account-nav` (an `hx-get` on load). Only a pending flashed message (shown once, to
    this visitor) needs a private render."""
    if without_session():
        return True
    return "_flashes" not in session


def _vary(vary: tuple[str, ...]) -> str:
    # Written out once per call rather than through `response.vary.add`, which re-parses the
    # header on every add: this is the hot path of every open page.
    return ", ".join((*vary, "Accept-Encoding"))


def _not_modified(etag: str, vary: tuple[str, ...]) -> Response:
    # Headers handed over as one list: no Content-Type, and no per-header parsing on the path
    # every open page takes every second.
    return Response(
        status=304,
        headers=[("ETag", f'W/"{etag}"'), ("Cache-Control", PUBLIC_CACHE_CONTROL), ("Vary", _vary(vary))],
    )


def live_response(
    version: Version,
    variant: tuple[Hashable, ...],
    render: Callable[[], str | Response],
    *,
    shared: bool = True,
    vary: tuple[str, ...] = (),
    mimetype: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Answer with the body for `variant` of this version: 304 when the client has it, else from
    the cache, else `render()` (stored when `shared`). `shared=False` is for bodies that depend
    on the visitor (a logged-in user's page): rendered each time, `private`, no ETag. A draft is
    never shared: only staff can see it at all."""
    if not shared or version.is_draft:
        response = make_response(render())
        if response.status_code == 200:
            if mimetype:
                response.mimetype = mimetype
            for name, value in (headers or {}).items():
                response.headers[name] = value
        response.headers["Cache-Control"] = PRIVATE_CACHE_CONTROL
        for header in vary:
            response.vary.add(header)
        return response

    etag = etag_for(version, variant)
    if request.if_none_match.contains_weak(etag):
        return _not_modified(etag, vary)
    key = (version.stamp(), variant)
    cache = render_cache()
    body = cache.get(key)
    if body is None:
        rendered = make_response(render())
        if rendered.status_code != 200:  # an error page: not cached, not a download
            for header in vary:
                rendered.vary.add(header)
            return rendered
        body = rendered.get_data()
        cache.put(key, body)
    encoding = None
    if len(body) >= GZIP_MIN_BYTES and "gzip" in request.accept_encodings:
        # Compressed once per version too: a 90 kB standings fragment goes out as ~10 kB.
        compressed = cache.get((key, "gzip"))
        if compressed is None:
            compressed = gzip.compress(body, compresslevel=6, mtime=0)
            cache.put((key, "gzip"), compressed, rendered=False)
        body, encoding = compressed, "gzip"
    response = Response(body, mimetype=mimetype or "text/html")
    out = response.headers
    if encoding:
        out["Content-Encoding"] = encoding
    out["ETag"] = f'W/"{etag}"'
    out["Cache-Control"] = PUBLIC_CACHE_CONTROL
    out["Vary"] = _vary(vary)
    for name, value in (headers or {}).items():
        out[name] = value
    return response


def shared_board(version: Version, tournament: Tournament, filters: standings_board.Filters) -> dict[str, Any]:
    """The standings board for this version and filters, computed once per process for the page,
    its fragment and the widget (app.services.standings.board). A draft's is never kept: only
    staff see it, and nothing of it may be served to anyone else."""
    if version.is_draft:
        return standings_board.battle_royale_board(tournament, filters)
    key = (version.stamp(), "board", filters.stage, filters.match_keys)
    return render_cache().memo(key, lambda: standings_board.battle_royale_board(tournament, filters))
