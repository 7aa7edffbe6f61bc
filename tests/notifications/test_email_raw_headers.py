"""The headers as they leave for the SMTP server, byte for byte (issue 28.1): mail providers read
the raw header, so `List-Unsubscribe` must be a literal `<https://...>` (never RFC 2047-encoded),
`Message-ID` must name the site's domain and `From` must not encode an ASCII name. Python's own
parser decodes encoded words silently, so these tests look at the bytes."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.notifications import email as notification_email
from app.notifications.models import Delivery
from app.services.accounts import verification
from tests.notifications.test_email_smtp import Handler, _go_live, _match_started, mail_app, smtp  # noqa: F401  (fixtures)


def _headers(raw: bytes) -> dict[bytes, bytes]:
    """Header name -> raw value (folding undone, nothing decoded)."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    unfolded = re.sub(rb"\r\n[ \t]+", b" ", head)
    return {line.split(b":", 1)[0].lower(): line.split(b":", 1)[1].strip() for line in unfolded.split(b"\r\n")}


def test_notification_email_headers_are_plain_ascii_on_the_wire(mail_app, smtp):  # noqa: F811  (the imported fixtures)
    handler = Handler()
    app = mail_app(smtp(handler))  # PUBLIC_BASE_URL https://play.example.org
    ids = _match_started(app)
    _go_live(app, ids)
    with app.app_context():
        delivery_id = db.session.scalars(select(Delivery.id).where(Delivery.channel == "email")).first()
        assert notification_email.deliver(db.session.get(Delivery, delivery_id)).kind.value == "delivered"
    [(_, raw)] = handler.messages
    assert b"=?" not in raw.split(b"\r\n\r\n", 1)[0]  # no encoded word in any header
    headers = _headers(raw)
    assert re.fullmatch(rb"<https://play\.example\.org/unsubscribe/[A-Za-z0-9._-]+>", headers[b"list-unsubscribe"])
    assert re.search(rb"\r\nList-Unsubscribe: <https://", raw)  # the link starts on the header's own line
    assert headers[b"list-unsubscribe-post"] == b"List-Unsubscribe=One-Click"
    assert re.fullmatch(rb"<[0-9a-f-]{36}\.\d+@play\.example\.org>", headers[b"message-id"])
    assert headers[b"from"] == b"DeltaCrown <noreply@deltacrown.local>"
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only


def test_account_email_headers_are_plain_ascii_on_the_wire(mail_app, smtp):  # noqa: F811  (the imported fixtures)
    handler = Handler()
    app = mail_app(smtp(handler))
    with app.test_request_context():  # sign-up sends it during a request
        user = User(email="new@example.com", display_name="Nadia")
        user.set_password("player password 1")
        db.session.add(user)
        db.session.commit()
        verification.send_verification(user)
    [(_, raw)] = handler.messages
    headers = _headers(raw)
    assert headers[b"from"] == b"DeltaCrown <noreply@deltacrown.local>"
    assert re.fullmatch(rb"<[^@>]+@play\.example\.org>", headers[b"message-id"])
    assert headers[b"content-type"].startswith(b"multipart/alternative")


def test_a_name_that_is_not_ascii_is_encoded_only_there(mail_app, smtp):  # noqa: F811  (the imported fixtures)
    handler = Handler()
    app = mail_app(smtp(handler), MAIL_DEFAULT_SENDER="ডেল্টা Crown <noreply@deltacrown.local>")
    with app.test_request_context():  # sign-up sends it during a request
        user = User(email="new@example.com", display_name="Nadia")
        user.set_password("player password 1")
        db.session.add(user)
        db.session.commit()
        verification.send_verification(user)
    [(_, raw)] = handler.messages
    sender = _headers(raw)[b"from"]
    assert sender.startswith(b"=?utf-8?") and sender.endswith(b"?= <noreply@deltacrown.local>")
