"""Public pages: tournament list, live standings, series (contract §5)."""

from flask import Blueprint

bp = Blueprint("public", __name__)

from app.public import account_nav, views  # noqa: E402,F401  (routes register on import)
