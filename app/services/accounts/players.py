"""Player accounts and how they join teams.

Rules:
- Anyone may sign up. A signed-up account is a player: never staff, never admin (only the
  `users` CLI makes staff). Emails are unique whatever their case.
- Sign-up answers the same whether or not the address already has an account (the log-in page
  hides which addresses have accounts, so sign-up must not tell either): nothing is created for
  a taken address, the same work is done (a password hash), and while email is on the owner is
  told by email that someone tried. While email is on, a new account must confirm its address
  before it can join a team (app/services/accounts/verification.py).
- A player joins a team only with that team's join code, which the organiser hands out (staff
  portal or `flask players join-code`; issuing one is audited, without the code). Codes are 16
  characters from a 30-letter alphabet (about 78 bits): guessing one is hopeless, so a wrong
  code is simply "no such code". Only a hash is stored; issuing a new code for a team makes the
  old one stop working at once.
- Joining makes a Registration (player <-> team) — the link notifications follow. A player can be
  on one team per tournament; joining a team they are already on changes nothing.
- A player may leave a team (and the organiser may remove one: `flask players remove`) only
  while the registration has no payment: deleting it would delete the payment record with it.
  Both are written to the audit log.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import generate_password_hash

from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.models import (
    Entry,
    Participant,
    Payment,
    Registration,
    RegistrationSettings,
    TeamJoinCode,
    Tournament,
    User,
    is_db_id,
    utcnow,
)
from app.services import audit
from app.services.accounts import verification
from app.services.accounts.rules import check_display_name, check_password, normalise_email

# No 0/O, 1/I/L or U: codes are read out loud and typed from screenshots.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
CODE_LENGTH = 16
MAX_CODE_TEXT = 64  # a join code as typed or pasted (spaces, dashes, a stray line break)


def sign_up(email: str, password: str, display_name: str = "") -> User | None:
    """Create a player account (commits) and, while email is on, send the confirmation link.
    None when the address already has an account: its owner gets an email instead, and the
    caller must answer exactly as for a new account."""
    email = normalise_email(email)
    display_name = check_display_name(display_name)
    check_password(password)
    existing = db.session.scalar(select(User).where(func.lower(User.email) == email))
    if existing is None:
        user = User(email=email, display_name=display_name or email.split("@")[0], is_staff=False, is_admin=False)
        user.set_password(password)
        db.session.add(user)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # two sign-ups with one email at once: the unique index decides
            existing = db.session.scalar(select(User).where(func.lower(User.email) == email))
        else:
            if verification.email_enabled():
                verification.send_verification(user)
            return user
    else:
        generate_password_hash(password)  # the time a new account takes, so timing tells nothing
    if existing is not None and existing.is_active and verification.email_enabled():
        verification.send_signup_attempt_notice(existing)
    return None


def _hash_code(normalised: str) -> str:
    return hashlib.sha256(normalised.encode("ascii")).hexdigest()


def normalise_code(raw: str) -> str | None:
    """The code without dashes, spaces or case; None when it cannot be a code at all."""
    code = re.sub(r"[\s-]", "", raw or "").upper()
    if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        return None
    return code


def format_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def issue_join_code(participant: Participant, actor_id: int | None = None) -> str:
    """A fresh code for the team (replacing any earlier one); returned once, stored hashed. Does not commit."""
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    row = db.session.scalar(select(TeamJoinCode).where(TeamJoinCode.participant_id == participant.id))
    if row is None:
        row = TeamJoinCode(participant_id=participant.id)
        db.session.add(row)
    row.code_hash = _hash_code(code)
    row.created_by_id = actor_id
    row.created_at = utcnow()
    db.session.flush()
    # The code itself never reaches the log: whoever reads the audit trail could join with it.
    audit.record(
        "participant.join_code_issued",
        target_type="participant",
        target_id=participant.id,
        actor_id=actor_id,
        tournament_id=participant.tournament_id,
        after={"participant": participant.key},
    )
    return format_code(code)


@dataclass(frozen=True)
class JoinResult:
    registration: Registration
    created: bool


def join_team(user: User, raw_code: str) -> JoinResult:
    """Register `user` on the team whose code this is. Commits when something changed.
    Refused (403) while the account's address is unconfirmed."""
    verification.require_verified(user)
    code = normalise_code(raw_code)
    if code is None:
        raise ValidationError(
            f"A join code has {CODE_LENGTH} letters and digits, e.g. ABCD-EFGH-JKMN-PQRS. "
            "Check the code you were given."
        )
    row = db.session.scalar(select(TeamJoinCode).where(TeamJoinCode.code_hash == _hash_code(code)))
    if row is None:
        raise NotFound("No team has this join code. It may have been replaced: ask your organiser for the current one.")
    participant = row.participant
    existing = db.session.scalars(
        select(Registration).where(
            Registration.user_id == user.id, Registration.tournament_id == participant.tournament_id
        )
    ).all()
    for registration in existing:
        if registration.participant_id == participant.id:
            return JoinResult(registration, created=False)
    if existing:
        raise Conflict(
            f"You are already on {existing[0].participant.name} in this tournament; "
            "a player can be on one team per tournament."
        )
    _check_roster_room(participant)
    registration = Registration(tournament_id=participant.tournament_id, participant_id=participant.id, user_id=user.id)
    db.session.add(registration)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # a double submit: the other request made the same registration
        registration = db.session.scalars(
            select(Registration).where(Registration.user_id == user.id, Registration.participant_id == participant.id)
        ).one()
        return JoinResult(registration, created=False)
    return JoinResult(registration, created=True)


def _check_roster_room(participant: Participant) -> None:
    """A team that registered itself has the tournament's roster maximum: a full team takes no
    one more (confirmation checks the size again, so a join racing this one cannot slip a team
    past it into the tournament)."""
    if db.session.scalar(select(Entry.id).where(Entry.participant_id == participant.id)) is None:
        return
    roster_max = db.session.scalar(
        select(RegistrationSettings.roster_max).where(RegistrationSettings.tournament_id == participant.tournament_id)
    )
    players = db.session.scalar(
        select(func.count(Registration.id)).where(Registration.participant_id == participant.id)
    )
    if roster_max is not None and players >= roster_max:
        raise Conflict(f"{participant.name} already has {players} players, the most this tournament allows.")


def teams_of(user_id: int) -> list:
    return list(
        db.session.execute(
            select(Registration, Participant, Tournament)
            .join(Participant, Participant.id == Registration.participant_id)
            .join(Tournament, Tournament.id == Registration.tournament_id)
            .where(Registration.user_id == user_id)
            .order_by(Tournament.created_at.desc(), Tournament.id.desc())
        ).all()
    )


def remove_registration(registration: Registration, actor_id: int | None, reason: str) -> None:
    """Take a player off a team; refused while a payment hangs on the registration. Commits."""
    if db.session.scalar(select(Payment.id).where(Payment.registration_id == registration.id).limit(1)):
        raise Conflict(
            f"The registration on {registration.participant.name} has a payment on record, so it cannot be "
            "removed (that would delete the payment). Ask the organisers."
        )
    audit.record(
        "registration.removed",
        target_type="registration",
        target_id=registration.id,
        actor_id=actor_id,
        tournament_id=registration.tournament_id,
        before={"user_id": registration.user_id, "participant_id": registration.participant.key},
        reason=reason,
    )
    db.session.delete(registration)
    db.session.commit()


def own_registration(user: User, registration_id: int) -> Registration:
    """The player's own registration only (someone else's is "not found")."""
    registration = db.session.get(Registration, registration_id) if is_db_id(registration_id) else None
    if registration is None or registration.user_id != user.id:
        raise NotFound("You are not on that team.")
    return registration


def leave_team(user: User, registration_id: int) -> Participant:
    """The player's own registration only (someone else's is "not found"). Commits."""
    registration = own_registration(user, registration_id)
    participant = registration.participant
    remove_registration(registration, user.id, "left the team")
    return participant
