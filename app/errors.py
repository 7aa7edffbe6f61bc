"""Domain errors raised by services. Each carries the HTTP status the API answers with, so a
view never has to guess, and the CLI prints the message as one line with exit status 1."""


class DomainError(Exception):
    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ValidationError(DomainError):
    """Input breaks a rule; the message names the place (e.g. `matches[3].results[2].placement`)."""

    status = 400


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    """The request is well-formed but the current state forbids it."""

    status = 409


class PermissionDenied(DomainError):
    status = 403


class TooManyRequests(DomainError):
    """A limit on how often an account may do something costly (e.g. send a screenshot)."""

    status = 429
