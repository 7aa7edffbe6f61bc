"""Sending one email now, over a connection that verifies the server's certificate and gives up
after MAIL_TIMEOUT. Below both the services (account emails a person is waiting for) and the
notification worker (queued emails), so neither has to import the other to send."""

from __future__ import annotations

import smtplib
import ssl
from types import TracebackType

from flask import current_app
from flask_mail import Connection, Message


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
