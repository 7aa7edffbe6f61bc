"""A confirmation step before an action that cannot be undone (completing a tournament, removing
a team, voiding a lobby, deleting an adjustment, leaving a team).

Rule: the button on the page posts to the action's address without `confirmed`; the answer is
a confirm page saying what will happen, with a form that posts again with `confirmed=yes`. A GET
of the address shows the same page. Only the second post acts. Plain forms, so it works with
JavaScript off; under htmx, a request that acted answers `HX-Redirect` instead of a redirect so
htmx loads the next page rather than swapping it into the form.
"""

from __future__ import annotations

from flask import make_response, redirect, request
from werkzeug.wrappers import Response

CONFIRM_FIELD = "confirmed"


def is_confirmed() -> bool:
    return request.method == "POST" and request.form.get(CONFIRM_FIELD) == "yes"


def redirect_after(url: str) -> Response:
    if request.headers.get("HX-Request") == "true":
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url)
