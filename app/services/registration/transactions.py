"""Transaction IDs of payment proofs: split payments, and one ID used by two teams.

The rules:
- A proof names one transaction, or up to `MAX_PARTS` when the fee was paid in several transfers
  (a split payment: two sends of BDT 150 for a BDT 300 fee). The IDs are written one after the
  other separated by "," or "+" ("8N7A6D5F4E, 9K2L3M4N5P"); each is 3 to 80 letters, digits and
  `._/-` as the payment app shows it, and all of them together at most 80 characters. They are
  stored upper-cased, joined with ", ". The proof's amount is what all transfers add up to: the
  API takes the total (contract §7, unchanged: one `transaction_id` string, one `amount`); the
  captain's form also takes the parts ("150 + 150") and adds them up (`sum_amounts`).
- A transaction ID that another entry (any tournament) also submitted with the same method is
  flagged on both, whether it was sent alone or as part of a split payment. Staff see which
  other team used it (`duplicates`), and verifying a flagged proof asks them to confirm first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select

from app.errors import ValidationError
from app.extensions import db
from app.models import Entry, PaymentProof, Tournament

MAX_TRANSACTION_ID = 80
MAX_PARTS = 4
# Room for the captain's parts of a split payment as typed ("150 + 150 + 200").
MAX_AMOUNT_TEXT = 40
ONE_ID = f"[A-Za-z0-9][A-Za-z0-9._/-]{{2,{MAX_TRANSACTION_ID - 1}}}"
# A portable regex (api_bodies states it in the OpenAPI schema too).
TRANSACTION_PATTERN = f"{ONE_ID}(?: *[,+] *{ONE_ID}){{0,{MAX_PARTS - 1}}}"
_TXN_RE = re.compile(TRANSACTION_PATTERN)
_SEPARATOR = re.compile(r" *[,+] *")
JOINER = ", "
ID_MESSAGE = (
    "transaction_id: 3 to 80 letters and digits as the payment app shows it; "
    f"for a payment in several transfers, up to {MAX_PARTS} IDs separated by commas"
)


def split_ids(stored: str) -> list[str]:
    return [part for part in _SEPARATOR.split(stored.strip().upper()) if part]


def clean_transaction_ids(value: Any) -> str:
    """The transaction ID(s) as stored, or a ValidationError (see the rule)."""
    if not isinstance(value, str) or not _TXN_RE.fullmatch(value.strip()):
        raise ValidationError(ID_MESSAGE)
    parts = split_ids(value)
    if len(set(parts)) != len(parts):
        raise ValidationError("transaction_id: the same ID is written twice")
    joined = JOINER.join(parts)
    if len(joined) > MAX_TRANSACTION_ID:
        raise ValidationError(f"transaction_id: at most {MAX_TRANSACTION_ID} characters in all")
    return joined


def sum_amounts(text: str) -> str:
    """ "150 + 150" as "300.00" (the parts of a split payment typed as they were sent); a single
    amount is returned as typed, for the settings' amount rule to judge."""
    from app.services.registration.settings import parse_amount

    if "+" not in text:
        return text
    parts = [part.strip() for part in text.split("+")]
    if not 2 <= len(parts) <= MAX_PARTS or not all(parts):
        raise ValidationError(f"amount: one amount, or up to {MAX_PARTS} amounts joined with +")
    cents = sum(parse_amount(part) for part in parts)
    return f"{cents // 100}.{cents % 100:02d}"


@dataclass
class Twin:
    """Another entry that used the same transaction ID."""

    team_name: str
    code: str
    tournament_name: str | None  # None: the same tournament

    def __str__(self) -> str:
        where = f" in {self.tournament_name}" if self.tournament_name else ""
        return f"{self.team_name} ({self.code}){where}"


@dataclass
class Duplicates:
    entries: dict[int, list[Twin]] = field(default_factory=dict)  # flagged entry id -> the other teams
    proofs: set[int] = field(default_factory=set)  # proofs carrying a repeated ID

    def of(self, entry_id: int) -> str:
        return ", ".join(str(twin) for twin in self.entries.get(entry_id, []))


def duplicates(tournament_id: int) -> Duplicates:
    """Entries of this tournament (and their proofs) sharing a transaction ID with another entry."""
    own = db.session.execute(
        select(PaymentProof.id, PaymentProof.entry_id, PaymentProof.method, PaymentProof.transaction_id)
        .join(Entry, Entry.id == PaymentProof.entry_id)
        .where(Entry.tournament_id == tournament_id)
    ).all()
    if not own:
        return Duplicates()
    wanted = {i for _pid, _eid, _m, txn in own for i in split_ids(txn)}
    # Every proof naming one of these IDs alone, and every split proof (rare: read and split here).
    others = db.session.execute(
        select(
            PaymentProof.entry_id,
            PaymentProof.method,
            PaymentProof.transaction_id,
            Entry.team_name,
            Entry.code,
            Entry.tournament_id,
            Tournament.name,
        )
        .join(Entry, Entry.id == PaymentProof.entry_id)
        .join(Tournament, Tournament.id == Entry.tournament_id)
        .where(or_(PaymentProof.transaction_id.in_(sorted(wanted)), PaymentProof.transaction_id.contains(",")))
    ).all()
    users: dict[tuple[str, str], dict[int, Twin]] = {}
    for entry_id, method, txn, team, code, tid, tname in others:
        for part in split_ids(txn):
            twin = Twin(team, code, None if tid == tournament_id else tname)
            users.setdefault((method.casefold(), part), {})[entry_id] = twin
    found = Duplicates()
    for proof_id, entry_id, method, txn in own:
        for part in split_ids(txn):
            twins = [t for eid, t in users.get((method.casefold(), part), {}).items() if eid != entry_id]
            if twins:
                found.proofs.add(proof_id)
                listed = found.entries.setdefault(entry_id, [])
                listed.extend(t for t in twins if t not in listed)
    return found
