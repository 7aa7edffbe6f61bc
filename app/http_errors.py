"""One place decides how errors look: JSON `{"error": ...}` under /api/, the site's error page
everywhere else. No request ever ends in a bare 500 page or a traceback."""

from __future__ import annotations

from flask import Flask, Response, jsonify, make_response, render_template, request
from werkzeug.exceptions import BadRequest, HTTPException

from app.extensions import db

API_PREFIX = "/api/"

_TITLES = {
    400: "Bad request",
    401: "Log in required",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Not possible right now",
    413: "Too large",
    500: "Something went wrong",
}


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


def error_response(status: int, message: str) -> Response:
    if is_api_request():
        response = jsonify(error=message)
    else:
        title = _TITLES.get(status, "Error")
        response = make_response(render_template("public/error.html", status=status, title=title, message=message))
    response.status_code = status
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
        response = error_response(exc.code or 500, exc.description or exc.name)
        if exc.code == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "an unexpected error happened; it has been logged")
