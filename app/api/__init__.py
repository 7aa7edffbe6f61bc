"""The JSON API (contract §4). Every error is `{"error": "..."}` with a 4xx status, never a 500
page: domain errors carry their status, and HTTP errors under /api/ are answered in JSON too."""

from flask import Blueprint, jsonify
from flask_wtf.csrf import CSRFError

from app.errors import DomainError
from app.extensions import csrf, db

bp = Blueprint("api", __name__, url_prefix="/api")
# Bearer-token clients have no CSRF token; session callers are checked in `staff_required`.
csrf.exempt(bp)


def error_response(status: int, message: str):
    return jsonify(error=message), status


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError):
    db.session.rollback()
    return error_response(exc.status, exc.message)


@bp.errorhandler(CSRFError)
def _csrf_error(exc: CSRFError):
    return error_response(400, f"CSRF check failed: {exc.description}")


from app.api import registration_views, views  # noqa: E402,F401  (routes register on import)
