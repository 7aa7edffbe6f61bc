"""What a tournament's public page says about the event besides its results: a description, the
rules and how to reach the organiser.

Rules:
- Description (at most 5,000 characters) and rules (at most 20,000) are plain text: line breaks
  are kept (CR LF and CR become LF) and tabs allowed; other control characters, NUL and unpaired
  surrogates are refused. Pages print them escaped, never as HTML, so markup shows as typed.
- Contacts are optional, each at most 300 characters:
  - WhatsApp: a phone number (app/services/inputs/phone.py), linked as https://wa.me/<digits>; or an https link on
    wa.me, chat.whatsapp.com or whatsapp.com.
  - Discord: an https link on discord.gg, discord.com or discordapp.com.
  - Facebook: an https link on facebook.com, fb.com, fb.me or m.me (or their subdomains).
  A link must be https with that host, no user name or password and no port; nothing else is
  ever made into a link. Pages render them with rel="nofollow noopener" (the organiser's link
  leads to a third party; our page vouches for nothing there).
- Empty text is stored as None: the page then leaves the block out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from app.errors import ValidationError
from app.services.inputs.phone import normalize_phone
from app.services.inputs.text import storable

MAX_DESCRIPTION = 5000
MAX_RULES = 20000
MAX_CONTACT = 300
INFO_FIELDS = ("description", "rules", "contact_whatsapp", "contact_discord", "contact_facebook")

_HOSTS = {
    "contact_whatsapp": ("wa.me", "chat.whatsapp.com", "whatsapp.com", "api.whatsapp.com"),
    "contact_discord": ("discord.gg", "discord.com", "discordapp.com"),
    "contact_facebook": ("facebook.com", "fb.com", "fb.me", "m.me"),
}
_EXAMPLES = {
    "contact_whatsapp": (
        "a phone number such as +8801712345678, or an https://wa.me/… or https://chat.whatsapp.com/… link"
    ),
    "contact_discord": "an https://discord.gg/… or https://discord.com/… invite link",
    "contact_facebook": "an https://facebook.com/… (or fb.me, m.me) link",
}
LABELS = {"contact_whatsapp": "WhatsApp", "contact_discord": "Discord", "contact_facebook": "Facebook"}


def _plain_text(value: Any, name: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{name}: text, or empty")
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        return None
    if len(text) > limit:
        raise ValidationError(f"{name}: at most {limit:,} characters (found {len(text):,})")
    if not storable(text):
        raise ValidationError(f"{name}: contains a NUL character or an unpaired surrogate")
    for ch in text:
        if (ord(ch) < 32 and ch not in "\n\t") or 127 <= ord(ch) < 160:
            raise ValidationError(f"{name}: contains a control character (U+{ord(ch):04X}); use plain text")
    return text


def _host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    return any(host == name or host.endswith("." + name) for name in allowed)


def _contact(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{name}: {_EXAMPLES[name]}")
    text = value.strip()
    if not text:
        return None
    problem = ValidationError(f"{name}: {_EXAMPLES[name]}")
    if len(text) > MAX_CONTACT:
        raise ValidationError(f"{name}: at most {MAX_CONTACT} characters")
    if name == "contact_whatsapp" and not text.lower().startswith("http"):
        number = normalize_phone(text)
        if number is None:
            raise problem
        return number
    if any(ord(ch) <= 32 or ord(ch) >= 127 for ch in text):
        raise problem
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise problem from None
    host = (parts.hostname or "").lower()
    if parts.scheme.lower() != "https" or parts.username or parts.password or port is not None:
        raise problem
    if not _host_allowed(host, _HOSTS[name]):
        raise problem
    return text


def check_info(fields: dict[str, Any]) -> dict[str, str | None]:
    """The info fields of `fields` (absent ones as None) checked and cleaned; ValidationError
    naming the first field that breaks a rule of the module."""
    return {
        "description": _plain_text(fields.get("description"), "description", MAX_DESCRIPTION),
        "rules": _plain_text(fields.get("rules"), "rules", MAX_RULES),
        **{name: _contact(fields.get(name), name) for name in LABELS},
    }


def info_problems(fields: dict[str, Any]) -> list[str]:
    """Every info field's problem at once (for a form), each message starting with its name."""
    problems = []
    for name in INFO_FIELDS:
        try:
            check_info({name: fields.get(name)})
        except ValidationError as exc:
            problems.append(exc.message)
    return problems


@dataclass(frozen=True)
class ContactLink:
    label: str
    url: str
    text: str


def contact_links(tournament: Any) -> list[ContactLink]:
    """The organiser's contacts as links, in a fixed order; a WhatsApp number becomes wa.me."""
    links = []
    for name, label in LABELS.items():
        value = getattr(tournament, name, None)
        if not value:
            continue
        if name == "contact_whatsapp" and not value.lower().startswith("http"):
            links.append(ContactLink(label, "https://wa.me/" + value.lstrip("+"), value))
        else:
            links.append(ContactLink(label, value, urlsplit(value).hostname or value))
    return links
