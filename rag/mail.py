"""Sending a digest by email: one multipart message (plain text and HTML) through SMTP (stdlib).

``RAG_SMTP_URL`` is ``smtp://host:port`` (STARTTLS when the server offers it) or
``smtps://host:port`` (TLS from the start); ``RAG_SMTP_USER`` / ``RAG_SMTP_PASSWORD`` log in.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import urlsplit

from .errors import RagError


def message(sender: str, to: str, subject: str, text: str, html: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, to, subject
    mail.set_content(text)
    mail.add_alternative(html, subtype="html")
    return mail


def send(mail: EmailMessage, url: str, user: str = "", password: str = "", timeout: float = 60.0) -> None:
    """Hand ``mail`` to the SMTP server at ``url``; returns only once the server accepted it."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise RagError(f"RAG_SMTP_URL={url!r} is not smtp://host:port or smtps://host:port")
    port = parts.port or (465 if parts.scheme == "smtps" else 25)
    try:
        if parts.scheme == "smtps":
            server: smtplib.SMTP = smtplib.SMTP_SSL(
                parts.hostname, port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            server = smtplib.SMTP(parts.hostname, port, timeout=timeout)
        with server:
            server.ehlo()
            if parts.scheme == "smtp" and server.has_extn("starttls"):
                server.starttls(context=ssl.create_default_context())
                server.ehlo()
            if user:
                server.login(user, password)
            refused = server.send_message(mail)
    except (OSError, smtplib.SMTPException) as exc:
        raise RagError(f"the digest was not sent through {parts.hostname}:{port}: {exc}") from exc
    if refused:
        raise RagError(f"the mail server refused {', '.join(refused)}; the digest was not sent to them")
