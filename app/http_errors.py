"""One place decides how errors look: JSON `{"error": ...}` under /api/, the site's error page
everywhere else. No request ever ends in a bare 500 page or a traceback.

A database outage is a 503 on every page (JSON under /api/): the site is down, not broken.
While the error page for it is drawn, `g.database_unavailable` tells the user loader not to
touch the database again, so the layout shows an anonymous visitor instead of failing a
second time (which used to give gunicorn's bare 500 to anyone carrying a login cookie).
"""

from __future__ import annotations

import contextlib

from flask import Flask, Response, g, jsonify, make_response, render_template, request
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import BadRequest, HTTPException

from app.extensions import db

API_PREFIX = "/api/"
RETRY_AFTER_SECONDS = 30

_TITLES = {
    400: "Bad request",
    401: "Log in required",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Not possible right now",
    413: "Too large",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}


class DatabaseUnavailable(HTTPException):
    code = 503
    description = "the database is not answering; please try again in a minute"


def is_database_outage(exc: BaseException) -> bool:
    """Errors that mean "cannot reach or use the database right now", as opposed to a bug."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeoutError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


def error_response(status: int, message: str) -> Response:
    if is_api_request():
        response = jsonify(error=message)
    else:
        title = _TITLES.get(status, "Error")
        try:
            html = render_template("public/error.html", status=status, title=title, message=message)
        except (SQLAlchemyError, DatabaseUnavailable) as exc:
            # The layout loaded the user and the database failed only now (e.g. a 404 decided
            # by routing during an outage): draw the page again for an anonymous visitor.
            if isinstance(exc, SQLAlchemyError) and not is_database_outage(exc):
                raise
            _forget_database()
            html = render_template("public/error.html", status=status, title=title, message=message)
        response = make_response(html)
    response.status_code = status
    return response


def _forget_database() -> None:
    g.database_unavailable = True
    g.pop("_login_user", None)
    with contextlib.suppress(SQLAlchemyError):  # the connection is gone; nothing to roll back
        db.session.rollback()


def _outage_response() -> Response:
    response = error_response(503, DatabaseUnavailable.description)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def init_app(app: Flask) -> None:
    @app.before_request
    def _refuse_nul_bytes():
        # No stored key or name contains NUL, and PostgreSQL refuses it in a query parameter:
        # refusing it here keeps every lookup below from turning it into a database error.
        if "\x00" in request.path or any("\x00" in k or "\x00" in v for k, v in request.args.items(multi=True)):
            raise BadRequest("the address contains a NUL character")

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if isinstance(exc, DatabaseUnavailable):
            _forget_database()
            return _outage_response()
        response = error_response(exc.code or 500, exc.description or exc.name)
        if exc.code == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        if exc.code == 429 and getattr(exc, "retry_after", None):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if isinstance(exc, SQLAlchemyError) and is_database_outage(exc):
            app.logger.error("database unavailable on %s %s: %s", request.method, request.path, exc)
            _forget_database()
            return _outage_response()
        try:
            db.session.rollback()
        except SQLAlchemyError:
            _forget_database()
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "an unexpected error happened; it has been logged")
