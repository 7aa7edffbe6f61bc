"""One address per variant of a cached public answer.

Rule: a public page, fragment, widget or download reads a few query keys (`stage`, `matches`,
`lobbies`; `theme`, `limit`, `overlay`). A request that carries any other key, or one of these
twice, is redirected (302, cacheable for a minute) to the same address with only the keys the
view reads; `matches` is written in its natural order without repeats
(m2 before m10: the filter is a set).

Why a redirect rather than silently ignoring the extras: a shared cache in front (nginx, a CDN)
keys on the whole address, so `?fbclid=...` on every link shared from Facebook, or junk added on
purpose, made each visitor a cache miss that reached the app. After the redirect every such
visitor lands on the one address the cache already holds; the redirect itself reads no database.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, redirect, request, url_for

from app.services.standings import board as standings_board

REDIRECT_CACHE_CONTROL = "public, max-age=60"
_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple:
    """m2 before m10; digits compare as numbers, the rest as text."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in _DIGITS.split(text) if part)


def canonical_matches(raw: str) -> str:
    """The `matches` value in natural order without blanks or repeats (the filter is a set),
    read by the board's own parser; FilterError (too many keys) is the view's to answer."""
    return ",".join(sorted(standings_board.parse_match_keys(raw), key=natural_key))


def canonical_query(*known: str) -> Callable:
    """Decorate a cached public view with the query keys it reads."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            target = _canonical_args(known)
            if target is not None:
                return _redirect(url_for(request.endpoint, **(request.view_args or {}), **target))
            return view(*args, **kwargs)

        return wrapped

    return decorate


def _canonical_args(known: tuple[str, ...]) -> dict[str, str] | None:
    """None when the query is already canonical, else the keys to keep. Key order is left alone:
    the app's own links write them in different orders, and a redirect on every poll would cost
    more than the few extra spellings it saves."""
    args = request.args
    if not args:
        return None
    kept = {key: args[key] for key in args if key in known}
    if "matches" in kept:
        try:
            kept["matches"] = canonical_matches(kept["matches"])
        except standings_board.FilterError:
            return None  # the view refuses it with its 400
    if len(args) == len(kept) and all(
        len(args.getlist(key)) == 1 and args[key] == value for key, value in kept.items()
    ):
        return None
    return kept


def _redirect(location: str) -> Response:
    response = redirect(location, 302)
    response.headers["Cache-Control"] = REDIRECT_CACHE_CONTROL
    return response
