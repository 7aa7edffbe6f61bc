"""What every API view module shares: who is signed in (`staff_required`, `player_required`),
the JSON body read through its declaration, and the tournament a caller may read (a draft is
"not found" to all but staff, app/visibility.py). Views import these from here, never from
another view module."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import g, request
from werkzeug.exceptions import RequestEntityTooLarge

from app.api import error_response
from app.errors import NotFound, ValidationError
from app.extensions import csrf
from app.models import Tournament
from app.services.accounts.tokens import authenticate_api_request
from app.services.inputs import api_bodies, strict_json
from app.services.inputs.fieldspec import Obj
from app.services.inputs.text import check_json, integral_numbers
from app.services.tournaments.lookup import get_tournament
from app.visibility import may_see


def _signed_in(view: Callable[..., Any], *, staff: bool) -> Callable[..., Any]:
    """401 without credentials (403 for non-staff when `staff`). A browser session must also
    send its CSRF token (X-CSRFToken header); a bearer token needs none, since no browser sends
    it unasked."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any):
        user, method = authenticate_api_request()
        if user is None:
            message = "invalid or revoked API token" if method == "bearer" else "authentication required"
            response = error_response(401, message)
            response[0].headers["WWW-Authenticate"] = 'Bearer realm="deltacrown"'
            return response
        if staff and not user.can_staff:
            return error_response(403, "staff only")
        if method == "session":
            csrf.protect()
        g.api_user = user
        return view(*args, **kwargs)

    # Tests walking the routes read these: who is refused before the tournament is even looked up.
    wrapper.signed_in_only = True  # type: ignore[attr-defined]
    wrapper.staff_only = staff  # type: ignore[attr-defined]
    return wrapper


def staff_required(view: Callable[..., Any]) -> Callable[..., Any]:
    return _signed_in(view, staff=True)


def player_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Any logged-in user (players and staff alike)."""
    return _signed_in(view, staff=False)


def _body_bytes() -> bytes:
    """The request body, 413 past MAX_CONTENT_LENGTH however it was sent. A chunked body has no
    Content-Length for werkzeug to refuse up front: its stream stops at the limit and only a read
    past it tells, so a body cut at the limit would otherwise be parsed and called bad JSON."""
    data = request.get_data(cache=True)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(data) >= limit and request.stream.read(1):
        raise RequestEntityTooLarge()
    return data


def json_body() -> dict[str, Any]:
    """The body as a JSON object, read strictly (`strict_json`: a key twice, NaN or a number too
    long to be meant is a 400 naming it)."""
    try:
        text = _body_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"body: not valid JSON (not UTF-8 text: bad byte at offset {exc.start})") from None
    if not text.strip():
        raise ValidationError("body: not valid JSON (the body is empty; expected a JSON object)")
    body = strict_json.loads(text, "body")
    if not isinstance(body, dict):
        raise ValidationError("body: expected a JSON object")
    check_json(body)
    return integral_numbers(body)


def read_body(declaration: Obj) -> dict[str, Any]:
    """The JSON body read through its declaration (app/services/inputs/api_bodies.py: what the
    OpenAPI document states), 400 naming the first bad field."""
    return api_bodies.check(declaration, json_body())


def caller_is_staff() -> bool:
    user, _method = authenticate_api_request()
    return bool(user is not None and user.can_staff)


def visible_tournament(ref: str) -> Tournament:
    """A tournament the caller may read: a draft is "not found" to all but staff (a bad token
    reads as nobody), in the same words as a tournament that does not exist."""
    tournament = get_tournament(ref)
    if not may_see(tournament.status, caller_is_staff):
        raise NotFound(f"tournament {ref!r} not found")
    return tournament
