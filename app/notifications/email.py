"""Notification emails: rendering, headers, and sending one email Delivery for the worker.

Rules:
- Sent only by the worker (`deliver`), never during a request; rendered at send time from the
  event's data, so the recipient's current address and name are used.
- Nothing is sent while NOTIFICATIONS_EMAIL_ENABLED is off, to an inactive or deleted account,
  or in a category the recipient has opted out of since the delivery was queued (transactional
  emails excepted): those
  deliveries give up (trying again would not change the answer).
- One email = multipart/alternative (plain text + HTML, one layout: templates/email/), built with
  app/mailer.py's OutgoingMessage (raw-header rules there). The Message-ID is derived from
  (event id, user id), so a retry of the same delivery carries the same id and a receiving mail
  system can drop the duplicate.
- Every email carries List-Unsubscribe (an https link with a signed token for its category) and
  List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058), except a transactional one (a
  place offer, `preferences.TRANSACTIONAL`), which is sent whatever the settings.
- SMTP: MAIL_TIMEOUT bounds every connect and command; TLS (MAIL_USE_TLS/MAIL_USE_SSL) verifies
  the server's certificate and host name (against MAIL_CA_FILE when set). Flask-Mail does neither
  by itself, so its Connection is subclassed here.
- Outcome: the server accepted it -> delivered; a permanent rejection of this message (5xx to
  MAIL FROM, RCPT TO or DATA) -> give up; 4xx, connection, TLS and login failures -> retry (they
  are about the server or our settings, not the message, and may well pass later).
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, render_template
from flask_mail import BadHeaderError, Message

from app.extensions import db
from app.mailer import OutgoingMessage, VerifiedConnection, send, site_domain
from app.models import User
from app.notifications import preferences, wording
from app.notifications.models import Delivery, OutboxEvent
from app.notifications.outcome import Outcome


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str
    category: str
    unsubscribe_url: str
    message_id: str


def template_name(event_type: str) -> str:
    return "email/" + event_type.replace(".", "_")


def message_id(event: OutboxEvent, user: User) -> str:
    return f"<{event.event_id}.{user.id}@{site_domain()}>"


def render_email(event: OutboxEvent, user: User) -> RenderedEmail:
    if event.type not in preferences.EMAIL_EVENTS:
        raise ValueError(f"{event.type} has no email template")
    category = preferences.category_of(event.type)
    view = wording.describe(event.type, event.data or {}, user.id, notice=event.notice)
    transactional = event.type in preferences.TRANSACTIONAL
    unsubscribe_url = (
        ""
        if transactional
        else wording.absolute_url(
            wording.site_path("players.unsubscribe", token=preferences.unsubscribe_token(user.id, category))
        )
    )
    context = {
        "view": view,
        "subject": view.title,
        "name": user.display_name or user.email.split("@")[0],
        "email": user.email,
        "category": preferences.category_name(category),
        "transactional": transactional,
        "link": wording.absolute_url(view.path) if view.path else None,
        "unsubscribe_url": unsubscribe_url,
        "preferences_url": wording.absolute_url(wording.site_path("players.notification_settings")),
    }
    name = template_name(event.type)
    text = render_template(name + ".txt", **context)
    # Template blocks leave blank runs behind; a plain-text reader should not see them.
    text = re.sub(r"\n[ \t]*(\n[ \t]*)+\n", "\n\n", text).strip() + "\n"
    html = render_template(name + ".html", **context)
    return RenderedEmail(view.title, text, html, category, unsubscribe_url, message_id(event, user))


# Operational alerts to administrators (not player notifications: no category, no opt-out).
ADMIN_ALERTS = frozenset({"webhook.endpoint_disabled", "webhook.receiver_failing"})


def build_admin_message(event: OutboxEvent, user: User) -> Message:
    data = event.data or {}
    context = {
        "name": user.display_name or user.email.split("@")[0],
        "email": user.email,
        "title": data.get("title", event.type),
        "body": data.get("body", ""),
        "link": wording.absolute_url(data["path"]) if data.get("path") else None,
    }
    msg = OutgoingMessage(
        subject=context["title"],
        recipients=[user.email],
        body=render_template("email/admin_alert.txt", **context),
        html=render_template("email/admin_alert.html", **context),
        extra_headers={"X-DeltaCrown-Event-ID": event.event_id, "Auto-Submitted": "auto-generated"},
    )
    msg.msgId = message_id(event, user)
    return msg


def build_message(event: OutboxEvent, user: User) -> OutgoingMessage:
    rendered = render_email(event, user)
    msg = OutgoingMessage(
        subject=rendered.subject,
        # The bare address: Flask-Mail encodes a display name in a way the SMTP policy decodes again,
        # and a name such as "Nadia <3" then turns the To header ambiguous.
        recipients=[user.email],
        body=rendered.text,
        html=rendered.html,
        extra_headers={
            **(
                {
                    "List-Unsubscribe": f"<{rendered.unsubscribe_url}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                }
                if rendered.unsubscribe_url
                else {}
            ),
            "X-DeltaCrown-Event-ID": event.event_id,
            "Auto-Submitted": "auto-generated",
        },
    )
    msg.msgId = rendered.message_id
    return msg


class BatchSender:
    """One SMTP connection reused for a batch of emails (the worker's email task): connecting,
    TLS and log-in happen once per batch instead of once per message. A connection that breaks
    is dropped, and the next message opens a fresh one."""

    def __init__(self) -> None:
        self._connection: VerifiedConnection | None = None

    def send(self, msg: Message) -> None:
        if self._connection is None:
            connection = VerifiedConnection(current_app.extensions["mail"])
            connection.__enter__()
            self._connection = connection
        try:
            msg.send(self._connection)
        except smtplib.SMTPResponseException as exc:
            if isinstance(exc, smtplib.SMTPRecipientsRefused) or 500 <= exc.smtp_code < 600 or exc.smtp_code == 421:
                # After a refusal of this message the session is still usable, but reset it so the
                # next message starts clean; 421 means the server is closing the connection.
                self._reset(drop=exc.smtp_code == 421)
            raise
        except (smtplib.SMTPException, OSError):
            self.close()
            raise

    def deliver(self, delivery: Delivery) -> Outcome:
        return deliver(delivery, send=self.send)

    def _reset(self, drop: bool) -> None:
        if self._connection is None or self._connection.host is None:
            return
        if drop:
            self.close()
            return
        try:
            self._connection.host.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.__exit__(None, None, None)


def _smtp_outcome(code: int, detail: str) -> Outcome:
    detail = f"SMTP {code}: {detail}"[:500]
    if 500 <= code < 600:
        return Outcome.give_up(detail, status_code=code)
    return Outcome.retry(detail, status_code=code)


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def deliver(delivery: Delivery, send: Callable[[Message], None] = send) -> Outcome:
    """Send one email delivery; the worker applies the retry schedule to the answer."""
    if not current_app.config.get("NOTIFICATIONS_EMAIL_ENABLED"):
        return Outcome.give_up("email notifications are off (NOTIFICATIONS_EMAIL_ENABLED)")
    user = db.session.get(User, delivery.user_id) if delivery.user_id is not None else None
    if user is None or not user.is_active:
        return Outcome.give_up("the recipient's account is gone or deactivated")
    event = delivery.event
    if event.type in ADMIN_ALERTS:
        if not user.is_admin:
            return Outcome.give_up("the recipient is no longer an administrator")
        return _send_outcome(build_admin_message(event, user), send)
    category = preferences.category_of(event.type)
    if event.type not in preferences.EMAIL_EVENTS or category is None:
        return Outcome.give_up(f"{event.type} is not sent by email")
    if event.type not in preferences.TRANSACTIONAL and not preferences.wants_email(user.id, category):
        return Outcome.give_up(f"the recipient unsubscribed from {category} emails")
    try:
        msg = build_message(event, user)
    except BadHeaderError:
        return Outcome.give_up("the message has a header with a line break")
    return _send_outcome(msg, send)


def _send_outcome(msg: Message, send: Callable[[Message], None]) -> Outcome:
    try:
        send(msg)
    except BadHeaderError:  # raised while sending: a line break in a subject or address
        return Outcome.give_up("the message has a header with a line break (a name holding CR/LF?)")
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()))
        return _smtp_outcome(code, "recipient refused: " + _text(text))
    except (smtplib.SMTPAuthenticationError, smtplib.SMTPConnectError, smtplib.SMTPHeloError) as exc:
        # About our settings or the server's mood, not this message: worth another try.
        return Outcome.retry(f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}"[:500], status_code=exc.smtp_code)
    except smtplib.SMTPResponseException as exc:  # sender refused, data refused, ...
        return _smtp_outcome(exc.smtp_code, _text(exc.smtp_error))
    except (smtplib.SMTPException, OSError) as exc:  # disconnects, timeouts, refused connections, TLS
        return Outcome.retry(f"{type(exc).__name__}: {exc}"[:500])
    return Outcome.delivered(f"accepted by {current_app.config.get('MAIL_SERVER')}")
