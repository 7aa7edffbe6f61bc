"""The JSON API (contract §4). Every error is `{"error": "..."}` with a 4xx status, never a 500
page: domain errors carry their status, and HTTP errors under /api/ are answered in JSON too."""

from flask import Blueprint, jsonify
from flask_wtf.csrf import CSRFError
from werkzeug.routing import IntegerConverter

from app.errors import DomainError
from app.extensions import csrf, db
from app.models import MAX_ID as MAX_DB_ID
from app.services.fieldspec import decimal_at_most


class DatabaseId(IntegerConverter):
    """`<dbid:name>`: an id in 1..2**31-1 (the databases' integer), leading zeros allowed, bounded
    by the pattern itself. With `int(max=...)` Werkzeug matched the method before the bound, so
    `DELETE .../adjustments/2147483648/` answered 405 naming PATCH instead of 404."""

    regex = f"0*(?:{decimal_at_most(MAX_DB_ID)})"
    part_isolating = True

    def to_python(self, value: str) -> int:
        return int(value)  # the pattern admits only ids in range


bp = Blueprint("api", __name__, url_prefix="/api")
bp.record_once(lambda state: state.app.url_map.converters.setdefault("dbid", DatabaseId))
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
