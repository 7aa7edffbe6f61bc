"""One helper answers every page that htmx may also ask for in part.

A page template names the part that updates live as a Jinja block (`{% block standings %}`).
A normal visit renders the whole page; an htmx poll gets just that block, rendered from the
same template, so the page and its live updates can never drift apart.
"""

from __future__ import annotations

from typing import Any

from flask import Response, make_response, render_template, request
from jinja2_fragments.flask import render_block

# The request headers the choice between page and fragment depends on. A cache in between must
# keep the two apart, or a browser could be handed a bare fragment as a page (or the reverse).
VARY_HEADERS = ("HX-Request", "HX-Boosted", "HX-History-Restore-Request")


def wants_fragment() -> bool:
    """True for htmx's own requests (polls, swaps). A boosted navigation and a history restore
    are htmx requests too, but they replace the whole page, so they get the whole page.
    (The headers are read directly: this runs on every live poll.)"""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def render_page_or_fragment(template: str, block: str, **context: Any) -> Response:
    """Render `template`, or only its `block` when htmx asks for a fragment. The response
    always carries `Vary: HX-Request` (and the other headers the choice depends on)."""
    body = render_block(template, block, **context) if wants_fragment() else render_template(template, **context)
    response = make_response(body)
    for header in VARY_HEADERS:
        response.vary.add(header)
    return response
