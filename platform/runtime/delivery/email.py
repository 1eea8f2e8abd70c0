"""Email through SMTP (the standard library's smtplib and email.message).

An outbox row of channel `email` holds the address, subject and text in the recipient's language;
the password is read from the environment variable the site names when the message is sent.
"""
from __future__ import annotations

import json
import os
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Mapping

from atrium.metadata.message_settings import EmailSettings
from atrium.runtime.automation.outbox import TIMEOUT_SECONDS, Answer

EMAIL_PREFIX = "mailto:"  # the outbox row's url: mailto:<address>


def email_message(settings: EmailSettings, to: str, subject: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=settings.host)
    message.set_content(text)  # UTF-8, so Chinese subjects and bodies arrive as written
    return message


class EmailChannel:
    """Sends an outbox row of channel `email` through the site's SMTP server."""

    def __init__(self, settings: EmailSettings, timeout: float = TIMEOUT_SECONDS):
        self.settings, self.timeout = settings, timeout

    def __call__(self, row: Mapping[str, Any]) -> Answer:
        mail = json.loads(row["body"])
        settings = self.settings
        password = None
        if settings.user and settings.password_env:
            password = os.environ.get(settings.password_env)
            if password is None:
                return Answer(None, f"environment variable {settings.password_env} is not set")
        try:
            self._send(email_message(settings, mail["to"], mail["subject"], mail["text"]), password)
        except smtplib.SMTPResponseException as error:
            return Answer(None, f"SMTP {error.smtp_code}: {error.smtp_error!r}"[:1000])
        except (smtplib.SMTPException, OSError, ValueError) as error:
            return Answer(None, f"{type(error).__name__}: {error}"[:1000])
        return Answer(250)

    def _send(self, message: EmailMessage, password: str | None) -> None:
        settings = self.settings
        if settings.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=self.timeout,
                                                  context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=self.timeout)
        with smtp:
            if settings.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if settings.user and password is not None:
                smtp.login(settings.user, password)
            smtp.send_message(message)
