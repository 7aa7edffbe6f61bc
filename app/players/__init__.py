"""Player accounts: sign-up, joining a team with its join code, the in-app inbox, email
preferences and one-click unsubscribe. Players log in at the same /login as staff."""

from flask import Blueprint

bp = Blueprint("players", __name__)

from app.players import registration_views, views  # noqa: E402,F401  (routes register on import)
