"""Logging in to the staff portal (sessions) and API tokens (bearer), in one place so the two
ways of being somebody follow the same rules: an inactive account is nobody."""

from __future__ import annotations

from flask import Blueprint

from app.extensions import db, login_manager
from app.models import User

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to see that page."
login_manager.login_message_category = "info"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Deactivating an account ends its open sessions at once, not when their cookies expire."""
    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None
    if user is None or not user.is_active:
        return None
    return user


# Imported last: the views need `bp` to exist to attach their routes.
from app.auth import views  # noqa: E402, F401
