"""How a message leaves: e-mail over SMTP and webhooks over HTTP(S), one attempt each.

E-mail uses the standard library's SMTP client: ``smtps://`` is TLS from the first byte,
``smtp://`` upgrades with STARTTLS unless ``[notify] starttls = false`` (a plain relay on the
same host), and the server's certificate is checked against the system's trust store (or the
file ``SSL_CERT_FILE`` names). The password is read from ``password_file`` when a connection
logs in, never kept in the config. Each message carries a ``Message-ID`` derived from what it
announces and its recipient, so one sent twice after a crash is one message to a mail client.

A webhook is a POST of the exact body queued, signed with HMAC-SHA256 of those bytes and the
secret from the webhook's ``secret_file``; 2xx is delivered, anything else (a redirect too) or
no answer within the timeout is an attempt that failed.
"""

from __future__ import annotations

import hashlib
import hmac
import smtplib
import socket
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from urllib.parse import urlsplit

from gateway.notify.outbox import Message

SMTP_TIMEOUT = 30.0
# Headers folded only past 998 characters (RFC 5322's limit): a subject of 80-odd characters
# folded right after "Subject:" reads with a leading space in some clients.
MAIL_POLICY = policy.SMTP.clone(max_line_length=998)
USER_AGENT = "sqrms-gateway-webhook/1"


class SendFailed(Exception):
    """One attempt failed; ``permanent`` when trying again cannot help (the server refused
    the recipient or the message for good). The text is the server's, never content."""

    def __init__(self, text: str, permanent: bool = False) -> None:
        super().__init__(text)
        self.permanent = permanent


@dataclass(frozen=True)
class SmtpSettings:
    """``[notify]`` of gateway.toml, as the e-mail channel needs it."""

    url: str
    starttls: bool = True
    username: str | None = None
    password_file: Path | None = None
    sender: str = "sqrms-gateway@localhost"
    reply_to: str | None = None

    @property
    def domain(self) -> str:
        return self.sender.rpartition("@")[2] or "localhost"


def message_id(message: Message, domain: str) -> str:
    return f"<{message.message_key}@{domain}>"


def build_email(message: Message, settings: SmtpSettings) -> EmailMessage:
    """The MIME message: plain text with the HTML alternative made from the same letter, and
    the files queued with it attached."""
    mail = EmailMessage(policy=MAIL_POLICY)
    mail["From"] = settings.sender
    mail["To"] = message.destination
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = message_id(message, settings.domain)
    mail["Auto-Submitted"] = "auto-generated"
    if settings.reply_to:
        mail["Reply-To"] = settings.reply_to
    mail.set_content(message.content["text"])
    if message.content.get("html"):
        mail.add_alternative(message.content["html"], subtype="html")
    for attachment in message.attachments:
        maintype, _, subtype = attachment.media_type.partition("/")
        mail.add_attachment(attachment.data, maintype=maintype, subtype=subtype,
                            filename=attachment.filename)
    return mail


class SmtpConnection:
    """One SMTP session, opened on first use and reused for the messages of a turn."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        url = urlsplit(self.settings.url)
        host = url.hostname or "localhost"
        context = ssl.create_default_context()
        try:
            if url.scheme == "smtps":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, url.port or 465,
                                                      timeout=SMTP_TIMEOUT, context=context)
            else:
                smtp = smtplib.SMTP(host, url.port or 25, timeout=SMTP_TIMEOUT)
                if self.settings.starttls:
                    smtp.starttls(context=context)
            if self.settings.username:
                smtp.login(self.settings.username, self._password())
        except (OSError, smtplib.SMTPException) as err:
            raise SendFailed(f"SMTP {host}: {_error_text(err)}") from None
        return smtp

    def _password(self) -> str:
        if self.settings.password_file is None:
            raise SendFailed("[notify] username is set but password_file is not")
        try:
            text = self.settings.password_file.read_text(encoding="utf-8")
        except OSError as err:
            raise SendFailed(f"cannot read the SMTP password file: {err.strerror}") from None
        return text.removesuffix("\n").removesuffix("\r")

    def send(self, message: Message) -> str:
        """Send one message; returns the server's answer. Raises ``SendFailed``."""
        if self._smtp is None:
            self._smtp = self._open()
        mail = build_email(message, self.settings)
        try:
            refused = self._smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as err:
            codes = [code for code, _ in err.recipients.values()]
            raise SendFailed(f"recipient refused ({', '.join(map(str, codes))})",
                             permanent=all(code >= 500 for code in codes)) from None
        except smtplib.SMTPDataError as err:
            raise SendFailed(f"message refused: {err.smtp_code}",
                             permanent=err.smtp_code >= 500) from None
        except (OSError, smtplib.SMTPException) as err:
            self.close()
            raise SendFailed(f"SMTP: {_error_text(err)}") from None
        if refused:
            raise SendFailed("recipient refused", permanent=True)
        return "250 accepted"

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None


def _error_text(err: BaseException) -> str:
    if isinstance(err, smtplib.SMTPResponseException):
        answer = err.smtp_error.decode("utf-8", "replace") if isinstance(
            err.smtp_error, bytes) else str(err.smtp_error)
        return f"{err.smtp_code} {answer}"
    if isinstance(err, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return type(err).__name__ + (f": {err}" if str(err) else "")


def signature(body: bytes, secret: bytes) -> str:
    """``X-Gateway-Signature``: ``sha256=`` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def read_secret(path: str) -> bytes:
    """The secret file's content without its trailing newline."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise SendFailed(f"cannot read the webhook secret file: {err.strerror}") from None
    return data.removesuffix(b"\n").removesuffix(b"\r")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a redirect is an answer other than 2xx: the delivery failed


def post_webhook(message: Message, timeout: float) -> str:
    """POST one delivery; returns ``HTTP <status>`` for a 2xx answer, else raises."""
    body = message.content["body"].encode("utf-8")
    secret = read_secret(message.content["secret_file"])
    request = urllib.request.Request(message.destination, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": USER_AGENT,
        "X-Gateway-Event": message.content.get("event", "receipt"),
        "X-Gateway-Delivery": message.message_key,
        "X-Gateway-Signature": signature(body, secret)})
    opener = urllib.request.build_opener(
        _NoRedirect, urllib.request.HTTPSHandler(context=ssl.create_default_context()))
    try:
        with opener.open(request, timeout=timeout) as answer:
            status = answer.status
            answer.read(65536)
    except urllib.error.HTTPError as err:
        raise SendFailed(f"HTTP {err.code}") from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        text = _error_text(reason) if isinstance(reason, BaseException) else str(reason)
        raise SendFailed(f"no answer: {text}") from None
    if not 200 <= status < 300:
        raise SendFailed(f"HTTP {status}")
    return f"HTTP {status}"
