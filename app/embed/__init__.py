"""The embeddable standings widget and stream overlay (`/embed/<slug>`, `/embed.js`).

These are the only pages other sites may frame (`@allow_framing`). They never touch the session,
so they set no cookie, and they update live exactly like the public pages (app.live).
"""

from flask import Blueprint

bp = Blueprint("embed", __name__)

from app.embed import views  # noqa: E402,F401  (routes register on import)
