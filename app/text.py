"""The one text rule the notification layer shares with the services: what a database can store
(no NUL, which PostgreSQL refuses; no lone surrogate, which UTF-8 cannot encode). The services'
other text and JSON rules are in `app.services.inputs.text`."""

from __future__ import annotations


def storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
