"""The JSON API (contract §4). Every error is `{"error": "..."}` with a 4xx status, never a 500
page: domain errors carry their status, and HTTP errors under /api/ are answered in JSON too."""

from flask import Blueprint, Flask, jsonify, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

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


def init_app(app: Flask) -> None:
    """HTTP errors raised outside a view (unknown path, wrong method) still answer JSON under /api/."""

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if request.path.startswith(bp.url_prefix + "/"):
            response = error_response(exc.code or 500, exc.description or exc.name)
            if exc.code == 405 and exc.valid_methods:
                response[0].headers["Allow"] = ", ".join(exc.valid_methods)
            return response
        return exc

    @app.errorhandler(500)
    def _server_error(exc):
        db.session.rollback()
        if request.path.startswith(bp.url_prefix + "/"):
            return error_response(500, "internal error; it has been logged")
        return "Internal server error", 500


from app.api import views  # noqa: E402,F401  (routes register on import)
