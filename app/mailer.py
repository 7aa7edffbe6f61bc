"""Sending one email now, over a connection that verifies the server's certificate and gives up
after MAIL_TIMEOUT, and the one way a message is put into bytes. Below both the services
(account emails a person is waiting for) and the notification worker (queued emails), so neither
has to import the other to send.

Headers as they leave for the SMTP server (mail providers read the raw bytes, not a parser's
decoded view):
- `List-Unsubscribe`, `List-Unsubscribe-Post`, `Message-ID` and every other ASCII header are
  plain ASCII, folded at spaces only past 998 characters but never RFC 2047-encoded: Gmail, Yahoo and Outlook
  offer one-click unsubscribe (RFC 8058) only for a literal `<https://...>`. Flask-Mail
  serialises with the modern SMTP policy, which encodes any word longer than a line (the signed
  unsubscribe link); the compat32 policy with CRLF line ends folds without encoding.
- `From`: an ASCII display name stays as it is (Flask-Mail encodes every name).
- `Message-ID` names the site's own domain (PUBLIC_BASE_URL's host), not the sending machine.
- A text + HTML message is multipart/alternative itself; Flask-Mail wraps it in a
  multipart/mixed of one part, which only confuses mail clients.
"""

from __future__ import annotations

import smtplib
import ssl
from email import policy
from email.header import Header
from email.message import Message as MimeMessage
from email.utils import formataddr, make_msgid, parseaddr
from types import TracebackType
from urllib.parse import urlsplit

from flask import current_app
from flask_mail import Connection, Message

# RFC 5322 on the wire (CRLF) without the modern policy's encoded words for long ASCII tokens.
# Folding at RFC 5322's hard limit (998) rather than 78 keeps `List-Unsubscribe: <https://...>`
# on one line (a link has no space to fold at, so 78 would only move it to a line of its own);
# Flask-Mail folds an encoded Subject itself.
SMTP_POLICY = policy.compat32.clone(linesep="\r\n", max_line_length=998)


def site_domain() -> str:
    """The host of PUBLIC_BASE_URL: the domain of Message-IDs (the worker has no request)."""
    return urlsplit(current_app.config.get("PUBLIC_BASE_URL") or "").hostname or "deltacrown.local"


def _from_header(sender: str) -> str:
    """An ASCII name as it is (quoted when it needs to be), any other encoded. Not formataddr's
    own encoding: Flask-Mail re-registers the utf-8 charset in a way that makes it a no-op."""
    name, address = parseaddr(sender)
    if name.isascii():
        return formataddr((name, address))
    return f"{Header(name, 'utf-8').encode()} <{address}>"


class OutgoingMessage(Message):
    """Flask-Mail's Message with the headers described in the module docstring."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.msgId = make_msgid(domain=site_domain())

    def _message(self) -> MimeMessage:
        msg = super()._message()
        # Before touching a header: under Flask-Mail's SMTP policy, reading or setting one decodes it.
        msg.policy = SMTP_POLICY
        parts = msg.get_payload() if msg.is_multipart() else None
        if msg.get_content_subtype() == "mixed" and parts and len(parts) == 1:
            alternative = parts[0]
            for key, value in msg.items():
                if key.lower() not in ("content-type", "mime-version", "content-transfer-encoding"):
                    alternative[key] = value
            msg = alternative
            msg.policy = SMTP_POLICY
        del msg["From"]
        msg["From"] = _from_header(str(self.sender))
        return msg


class VerifiedConnection(Connection):
    """Flask-Mail's connection with a timeout and a certificate-verifying TLS context."""

    def configure_host(self) -> smtplib.SMTP:
        config = current_app.config
        timeout = float(config.get("MAIL_TIMEOUT") or 10)
        context = ssl.create_default_context(cafile=config.get("MAIL_CA_FILE") or None)
        host: smtplib.SMTP
        if self.mail.use_ssl:
            host = smtplib.SMTP_SSL(self.mail.server, self.mail.port, timeout=timeout, context=context)
        else:
            host = smtplib.SMTP(self.mail.server, self.mail.port, timeout=timeout)
        try:
            host.set_debuglevel(int(self.mail.debug))
            if self.mail.use_tls:
                host.starttls(context=context)
            if self.mail.username and self.mail.password:
                host.login(self.mail.username, self.mail.password)
        except BaseException:
            host.close()
            raise
        return host

    def __exit__(
        self, exc_type: type[BaseException] | None, exc_value: BaseException | None, tb: TracebackType | None
    ) -> None:
        # A QUIT on a connection that just failed must not replace the error that matters.
        if self.host is not None:
            try:
                self.host.quit()
            except (smtplib.SMTPException, OSError):
                self.host.close()


def send(msg: Message) -> None:
    """Send through Flask-Mail's machinery (so MAIL_SUPPRESS_SEND and record_messages work)."""
    with VerifiedConnection(current_app.extensions["mail"]) as connection:
        msg.send(connection)
