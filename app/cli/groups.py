"""The command groups and the one place that turns a domain error into the contract's
"one line on stderr, exit status 1" (never a traceback)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click
from flask.cli import AppGroup

from app.errors import DomainError
from app.extensions import db
from app.services.inputs.text import storable

tournaments_cli = AppGroup("tournaments", help="Import, export, standings, series and completion.")
users_cli = AppGroup("users", help="Create users and API tokens.")
players_cli = AppGroup("players", help="Join codes and who is on which team.")


def cli_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Roll back and exit 1 with the message on any domain error."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for name, value in kwargs.items():
            # Click decodes bytes that are not UTF-8 into lone surrogates; no lookup can match them.
            if isinstance(value, str) and not storable(value):
                raise click.ClickException(f"{name}: not valid UTF-8 text")
        try:
            return func(*args, **kwargs)
        except DomainError as exc:
            db.session.rollback()
            raise click.ClickException(exc.message) from None

    return wrapper
