"""Response headers every page gets, and sessions that cost anonymous visitors no cookie.

Headers (on every response, errors and static files included):
- `Content-Security-Policy`: scripts, styles, images, fonts and fetches only from this site; no
  inline script, no inline style, no plugins; forms post only here.
- Framing: denied (`frame-ancestors 'none'` and `X-Frame-Options: DENY`, which stops clickjacking
  of /login and the staff portal) except on views marked with `@allow_framing` (the embeddable
  widget), which get `frame-ancestors *` and no X-Frame-Options.
- `X-Content-Type-Options: nosniff`, `Referrer-Policy: strict-origin-when-cross-origin`, and a
  `Permissions-Policy` turning off device APIs the site never uses.
- `Strict-Transport-Security: max-age=HSTS_MAX_AGE` in production, on responses served over
  https (directly, or through a proxy trusted by TRUSTED_PROXY_COUNT). Never over plain http
  (browsers ignore it there, and it would only mislead), never in debug or tests (a developer's
  browser would then refuse http://localhost for a year); HSTS_MAX_AGE=0 turns it off.

Caching of personal answers: every response to a logged-in viewer (a session or remember-me
cookie that names a user) is `Cache-Control: private, no-store` unless the app declared it
`public` (app.live: the shared body every viewer gets, their own header fetched apart) or it is a
static file. Such a page carries the viewer's name and a CSRF token; `Vary: Cookie` alone still
lets a browser's back/forward cache or a misconfigured proxy keep it. Views may say the same
earlier; this is the one place that makes sure, errors (a logged-in 404) included.

Sessions: Flask adds `Vary: Cookie` whenever anything merely looks at the session (Flask-Login
does, to find the user). A request that brought no session cookie and leaves the session empty
cannot depend on a cookie, so its response gets neither a cookie nor `Vary: Cookie`; that is what
lets a shared cache or CDN store the public pages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from werkzeug.wrappers import Response

F = TypeVar("F", bound=Callable[..., Any])

_BASE_POLICY = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
)
CSP_DENY_FRAMING = "; ".join((*_BASE_POLICY, "frame-ancestors 'none'"))
CSP_ANY_FRAMING = "; ".join((*_BASE_POLICY, "frame-ancestors *"))
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


def allow_framing(view: F) -> F:
    """Let any site put this view in an iframe (the widget). Everything else denies framing."""
    view.allow_framing = True  # type: ignore[attr-defined]
    return view


def _frameable() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "allow_framing", False))


PRIVATE = "private, no-store"


def _logged_in() -> bool:
    """Whether the request comes from a logged-in user, without creating a session for anyone
    who brought no cookie (that would cost the public pages their shared caching)."""
    cookies = request.cookies
    remember = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    if current_app.session_interface.get_cookie_name(current_app) not in cookies and remember not in cookies:
        return False
    try:
        return bool(current_user.is_authenticated)
    except Exception:  # the database is down: the answer is an error page, kept private anyway
        return True


def private_for_logged_in(response: Response) -> Response:
    if response.cache_control.public or request.endpoint == "static":
        return response
    if _logged_in():
        response.headers["Cache-Control"] = PRIVATE
    return response


def security_headers(response: Response) -> Response:
    private_for_logged_in(response)
    if _frameable():
        response.headers["Content-Security-Policy"] = CSP_ANY_FRAMING
        response.headers.pop("X-Frame-Options", None)
    else:
        response.headers["Content-Security-Policy"] = CSP_DENY_FRAMING
        response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    response.headers["Permissions-Policy"] = PERMISSIONS_POLICY
    max_age = int(current_app.config.get("HSTS_MAX_AGE") or 0)
    if max_age > 0 and request.is_secure and not current_app.debug and not current_app.testing:
        response.headers["Strict-Transport-Security"] = f"max-age={max_age}"
    return response


class CookielessAnonymousSessionInterface(SecureCookieSessionInterface):
    """The signed-cookie session, minus `Vary: Cookie` (and minus a refreshed cookie) on answers
    that are the same for everyone:

    - answers to cookie-less requests that leave the session empty;
    - answers the app itself declares `public` (app.live: pages, fragments, widget, downloads),
      which are only ever produced when the body does not depend on the visitor. Reading the
      session to decide that (a flashed message waiting?) marks it accessed, and the `Vary:
      Cookie` that followed made a shared cache keep one copy per logged-in visitor, so one
      logged-in viewer refreshing the entry made it a miss for everyone else.
    A session changed while answering still gets its cookie (then nginx does not store the answer).
    """

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        if not session.modified and (
            response.cache_control.public or (not session and self.get_cookie_name(app) not in request.cookies)
        ):
            return
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    app.session_interface = CookielessAnonymousSessionInterface()
    app.after_request(security_headers)
