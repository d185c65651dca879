"""Sending the e-mail outbox over SMTP (standard library), retried like webhooks.

A message is written when sent, from its kind and its request's page: no patient's name,
record number or choice ever goes into an e-mail (invariant 6), only a link that needs the
clinician's log-in. Without CONSENT_SMTP_HOST nothing is sent and messages wait.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage as MimeMessage

from consent import clock
from consent.accounts.models import Account, AccountInvitation
from consent.db import AnySession
from consent.notifications.models import MAX_ERROR_LENGTH, EmailMessage
from consent.notifications.service import due, still_true
from consent.runtime import Runtime
from consent.workflows.deliver import backoff
from consent.workflows.invitation_mail import invitation_body

REQUEST_PAGE = "clinician.request_page"
WORKLIST = "clinician.dashboard"
SUBJECTS = {
    "consent.withdrawn": "A patient withdrew consent / Un patient a retiré son consentement",
    "signature.waiting": (
        "A signature waits for your confirmation / Une signature attend votre confirmation"
    ),
    "consents.expiring": "Consents ending soon / Consentements qui prennent fin bientôt",
    "account.invited": "Your account on the consent service / Votre compte sur le service "
    "de consentement",
}
BODIES = {
    "consent.withdrawn": (
        "A patient withdrew one or more uses of a consent they gave after you informed them.\n"
        "Do not publish their photos or texts for the withdrawn uses.\n"
        "See what the consent allows today (log-in needed): {url}\n\n"
        "Un patient a retiré un ou plusieurs usages d'un consentement donné après votre "
        "information.\n"
        "Ne publiez pas ses photos ou textes pour les usages retirés.\n"
        "Voir ce que le consentement autorise aujourd'hui (connexion nécessaire) : {url}\n"
    ),
    "signature.waiting": (
        "A patient you informed signed on the tablet a few minutes ago; nothing is recorded\n"
        "until you confirm. Confirm or review it (log-in needed): {url}\n\n"
        "Un patient que vous avez informé a signé sur la tablette il y a quelques minutes ;\n"
        "rien n'est enregistré avant votre confirmation. Confirmer ou relire (connexion "
        "nécessaire) : {url}\n"
    ),
    "consents.expiring": (
        "Some consents you gathered end within 30 days. Ask the patients again if the photos\n"
        "are still to be used after their end date. See them (log-in needed): {url}\n\n"
        "Des consentements que vous avez recueillis prennent fin dans les 30 jours. Redemandez\n"
        "aux patients si les photos doivent servir après cette date. Les voir (connexion "
        "nécessaire) : {url}\n"
    ),
}


@dataclass
class SendReport:
    sent: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)


def compose(
    rt: Runtime, message: EmailMessage, to: str, invitation: AccountInvitation | None = None
) -> MimeMessage:
    url = (
        rt.links.url(REQUEST_PAGE, request_id=message.request_id)
        if message.request_id
        else rt.links.url(WORKLIST, state="expiring")
    )
    if message.kind == "account.invited":
        assert invitation is not None
        token = (
            rt.vault.open_service_secret(message.secret_sealed).decode()
            if message.secret_sealed is not None and not rt.settings.sign_on
            else None
        )
        body = invitation_body(rt, invitation, token)
    else:
        body = BODIES[message.kind].format(url=url)
    mime = MimeMessage()
    mime["From"] = rt.settings.smtp_from
    mime["To"] = to
    mime["Subject"] = SUBJECTS[message.kind]
    mime["Message-ID"] = f"<{message.id}@{rt.settings.smtp_from.rpartition('@')[2] or 'consent'}>"
    mime.set_content(body)
    return mime


def _send(rt: Runtime, mime: MimeMessage) -> None:
    settings = rt.settings
    assert settings.smtp_host is not None
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password or "")
        smtp.send_message(mime)


def send_due(session: AnySession, rt: Runtime, *, limit: int = 100) -> SendReport:
    """Send the messages that are due, one transaction each (committed here, like the
    webhook deliverer). Nothing when no SMTP host is configured."""
    report = SendReport()
    if rt.settings.smtp_host is None:
        return report
    for message in due(session, now=clock.now(), limit=limit):
        account = session.get(Account, message.account_id)
        # The person turned their notification e-mails off after it was queued: not sent.
        invited = message.kind == "account.invited"
        # An invitation goes out whatever the (new) person's notification choice.
        wanted = invited or account is None or account.notification_emails
        if not still_true(session, message) or not wanted:
            message.state, message.secret_sealed = "cancelled", None
            session.commit()
            continue
        message.attempts += 1
        try:
            if account is None or not account.email:
                raise ValueError("the account has no e-mail address")
            invitation = (
                session.get(AccountInvitation, message.invitation_id)
                if message.invitation_id
                else None
            )
            _send(rt, compose(rt, message, account.email, invitation))
        except (OSError, smtplib.SMTPException, ValueError) as exc:
            message.last_error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH]
            if message.attempts >= rt.settings.webhook_max_attempts:
                message.state, message.secret_sealed = "dead", None
                report.dead.append(message.id)
            else:
                message.next_attempt_at = clock.now() + backoff(
                    message.attempts,
                    base=rt.settings.webhook_backoff_seconds,
                    cap=rt.settings.webhook_backoff_cap_seconds,
                )
                report.retrying.append(message.id)
        else:
            message.state, message.sent_at, message.last_error = "sent", clock.now(), None
            # The token was only kept to be sent: no copy of it stays, even sealed.
            message.secret_sealed = None
            report.sent.append(message.id)
        session.commit()
    return report
