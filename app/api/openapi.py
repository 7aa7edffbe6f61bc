"""The OpenAPI 3.1 description of the JSON API, served at /api/openapi.json.

The components (response schemas, shared parameters, the generated request schemas) are in
app/api/openapi_schemas.py; this module writes the paths. Kept beside the views and checked by
tests against the app's URL map, so it cannot silently drift from the routes it describes.
Request schemas are generated from the declarations the server reads them with: every body
from app/services/inputs/api_bodies.py (the lobby body from the tournament file's rules, which
that module reuses), text from app/services/inputs/fieldspec.py (no NUL: the patterns; no
unpaired surrogate: the format `storable-text`), the `match_ids` form from the limits
`api_bodies.parse_match_ids` applies, ids from the models' bound. What JSON Schema cannot
say, or cannot say in a form today's tools read (a participant that exists, placements unique
within a lobby, text and depth deep inside the value of an ignored key:
`fieldspec.storable_json_components`), is said in the descriptions and answered with 400, 404 or
409; tests/services/inputs/test_schema_corpus.py proves the rest against the server. Only the responses are
written here.

Patterns are negated character classes and short alternations: generators (schemathesis,
hypothesis) draw from them in milliseconds, where the earlier astral-range classes took 40-160 s
per body.
"""

from __future__ import annotations

from typing import Any

from app.api.openapi_schemas import (
    ADJUSTMENT,
    ADJUSTMENT_PARAM,
    CORRECTION_REQUEST,
    IDEMPOTENCY_KEY,
    LOBBY,
    MATCH_ENTRY,
    MATCH_IDS_PATTERN,
    MATCH_PARAM,
    OVERRIDE_REQUEST,
    OVERRIDE_RESPONSE,
    PLAYER,
    REF_PARAM,
    REGISTRATION_ROW,
    REGISTRATION_SETTINGS,
    REGISTRATION_STATUSES,
    RESULT_ROW,
    RID_PARAM,
    SERIES_SUMMARY,
    STAFF,
    STANDINGS_ROW,
    TOURNAMENT,
    errors,
    ok,
)
from app.services.inputs import api_bodies, fieldspec
from app.services.inputs.fieldspec import FORMAT_DESCRIPTION
from app.services.registration import records

__all__ = ["openapi_document"]


def _registration_paths(body: Any) -> dict[str, Any]:
    def action(summary: str, request: dict[str, Any] | None, codes: tuple[int, ...]) -> dict[str, Any]:
        operation: dict[str, Any] = {
            "summary": summary,
            "parameters": [REF_PARAM, RID_PARAM],
            "security": PLAYER,
            "responses": {**ok(REGISTRATION_ROW), **errors(*codes)},
        }
        if request is not None:
            operation["requestBody"] = body(request)
        return {"post": operation}

    return {
        "/api/tournaments/{ref}/registration/": {
            "get": {
                "summary": "Registration settings (anyone)",
                "parameters": [REF_PARAM],
                "responses": {**ok(REGISTRATION_SETTINGS), **errors(404)},
            },
            "put": {
                "summary": "Set the registration settings (staff)",
                "parameters": [REF_PARAM],
                "security": STAFF,
                "requestBody": body(REGISTRATION_SETTINGS),
                "responses": {**ok(REGISTRATION_SETTINGS), **errors(400, 401, 403, 404, 409)},
            },
        },
        "/api/tournaments/{ref}/registrations/": {
            "get": {
                "summary": "Registrations: all for staff (queue order), the caller's own for a player",
                "parameters": [
                    REF_PARAM,
                    {
                        "name": "status",
                        "in": "query",
                        "description": "Staff: a status, proof_submitted or refund_requested",
                        "schema": {
                            "type": "string",
                            # Empty: no filter (the view reads `?status=` as absent).
                            "enum": ["", *REGISTRATION_STATUSES, *records.QUEUE_FILTERS],
                        },
                    },
                ],
                "security": PLAYER,
                "responses": {**ok({"type": "array", "items": REGISTRATION_ROW}), **errors(400, 401, 404)},
            },
            "post": {
                "summary": "Register a team with the caller as captain (any logged-in player)",
                "parameters": [REF_PARAM],
                "security": PLAYER,
                "requestBody": body(api_bodies.REGISTER.schema()),
                "responses": {
                    **ok(
                        {
                            "type": "object",
                            "required": ["id", "code", "status", "payment_deadline", "waitlist_position"],
                            "properties": {
                                "id": {"type": "integer"},
                                "code": {"type": "string"},
                                "status": {
                                    "type": "string",
                                    "enum": ["pending_payment", "confirmed", "waitlisted", "awaiting_approval"],
                                },
                                "payment_deadline": {"type": ["string", "null"], "format": "date-time"},
                                "waitlist_position": {"type": ["integer", "null"]},
                            },
                        },
                        "Created",
                        "201",
                    ),
                    **errors(400, 401, 404, 409),
                },
            },
        },
        "/api/tournaments/{ref}/registrations/{rid}/payment/": action(
            "Submit proof of payment (the captain)",
            api_bodies.PAYMENT.schema(),
            (400, 401, 404, 409),
        ),
        "/api/tournaments/{ref}/registrations/{rid}/decision/": {
            "post": {
                "summary": "Decide on a registration (staff); verify emits payment.verified, refund payment.refunded",
                "parameters": [REF_PARAM, RID_PARAM],
                "security": STAFF,
                "requestBody": body(api_bodies.DECISION.schema()),
                "responses": {**ok(REGISTRATION_ROW), **errors(400, 401, 403, 404, 409)},
            }
        },
        "/api/tournaments/{ref}/registrations/{rid}/withdraw/": action(
            "Withdraw the team before the start (the captain)", None, (401, 404, 409)
        ),
        "/api/tournaments/{ref}/registrations/{rid}/check-in/": action(
            "Check the team in during the check-in window (the captain)", None, (401, 404, 409)
        ),
    }


def openapi_document() -> dict[str, Any]:
    def body(schema: dict[str, Any]) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": schema}}}

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "DeltaCrown Leaderboards API",
            "version": "1.0.0",
            "description": "Standings, series summaries and final results of esports tournaments. Staff "
            "endpoints accept `Authorization: Bearer <token>` (from `flask users token`) or a logged-in "
            "staff session with its CSRF token in `X-CSRFToken`; registration's player endpoints accept the "
            "same from any logged-in user. Read endpoints send a weak ETag that changes with every result "
            "change. A draft tournament is not found (404) except by staff. Text formats: "
            f"{FORMAT_DESCRIPTION}.",
        },
        "paths": {
            "/api/tournaments/": {
                "get": {
                    "summary": "List tournaments",
                    "responses": ok({"type": "array", "items": TOURNAMENT}),
                }
            },
            "/api/tournaments/{ref}/": {
                "get": {
                    "summary": "One tournament",
                    "parameters": [REF_PARAM],
                    "responses": {**ok(TOURNAMENT), **errors(404)},
                }
            },
            "/api/tournaments/{ref}/leaderboard/": {
                "get": {
                    "summary": "Battle-royale standings",
                    "parameters": [
                        REF_PARAM,
                        {
                            "name": "match_ids",
                            "in": "query",
                            "description": "Comma-separated match ids to count (1 to 1000 ids)",
                            "schema": {"type": "string", "pattern": MATCH_IDS_PATTERN},
                        },
                        {
                            "name": "stage",
                            "in": "query",
                            "description": "Count one stage",
                            "schema": fieldspec.text_schema(),
                        },
                    ],
                    "responses": {**ok({"type": "array", "items": STANDINGS_ROW}), **errors(400, 404)},
                }
            },
            "/api/tournaments/{ref}/series/{match_id}/": {
                "get": {
                    "summary": "Summary of the series a game belongs to",
                    "parameters": [REF_PARAM, MATCH_PARAM],
                    "responses": {**ok(SERIES_SUMMARY), **errors(400, 404)},
                }
            },
            "/api/tournaments/{ref}/results/": {
                "get": {
                    "summary": "Final results (after completion)",
                    "parameters": [REF_PARAM],
                    "responses": {**ok({"type": "array", "items": RESULT_ROW}), **errors(404, 409)},
                }
            },
            "/api/tournaments/{ref}/override-placement/": {
                "post": {
                    "summary": "Pin a participant's final rank (staff)",
                    "parameters": [REF_PARAM],
                    "security": STAFF,
                    "requestBody": body(OVERRIDE_REQUEST),
                    "responses": {**ok(OVERRIDE_RESPONSE), **errors(400, 401, 403, 404, 409)},
                },
                "delete": {
                    "summary": "Clear a participant's override (staff)",
                    "parameters": [REF_PARAM],
                    "security": STAFF,
                    "requestBody": body(api_bodies.OVERRIDE_CLEAR.schema()),
                    "responses": {**ok(OVERRIDE_RESPONSE), **errors(400, 401, 403, 404, 409)},
                },
            },
            "/api/tournaments/{ref}/matches/": {
                "post": {
                    "summary": "Record one battle-royale lobby (staff)",
                    "description": "A key a saved lobby already has is refused with 409 naming that lobby.",
                    "parameters": [REF_PARAM, IDEMPOTENCY_KEY],
                    "security": STAFF,
                    "requestBody": body(MATCH_ENTRY),
                    "responses": {
                        **ok(
                            {
                                "type": "object",
                                "properties": {"match_id": {"type": "integer"}, "key": {"type": "string"}},
                            },
                            "Created",
                            "201",
                        ),
                        **errors(400, 401, 403, 404, 409),
                    },
                }
            },
            "/api/tournaments/{ref}/matches/{match_id}/state/": {
                "post": {
                    "summary": "Move a match to another state (staff)",
                    "parameters": [REF_PARAM, MATCH_PARAM],
                    "security": STAFF,
                    "requestBody": body(api_bodies.MATCH_STATE.schema()),
                    "responses": {
                        **ok(
                            {
                                "type": "object",
                                "properties": {
                                    "match_id": {"type": "integer"},
                                    "key": {"type": "string"},
                                    "state": {"type": "string"},
                                },
                            }
                        ),
                        **errors(400, 401, 403, 404, 409),
                    },
                }
            },
            "/api/tournaments/{ref}/matches/{match_id}/results/": {
                "put": {
                    "summary": "Correct a lobby's results (staff)",
                    "description": "Replaces the results; audited with before and after. Refused (409) after "
                    "completion and when `version` is stale.",
                    "parameters": [REF_PARAM, MATCH_PARAM],
                    "security": STAFF,
                    "requestBody": body(CORRECTION_REQUEST),
                    "responses": {**ok(LOBBY), **errors(400, 401, 403, 404, 409)},
                }
            },
            "/api/tournaments/{ref}/matches/{match_id}/void/": {
                "post": {
                    "summary": "Void a lobby entered by mistake (staff)",
                    "description": "It stops counting; nobody is mailed; only `leaderboard.updated` is sent. "
                    "409 when already voided or the tournament is completed.",
                    "parameters": [REF_PARAM, MATCH_PARAM],
                    "security": STAFF,
                    "requestBody": body(api_bodies.VOID.schema()),
                    "responses": {**ok(LOBBY), **errors(400, 401, 403, 404, 409)},
                }
            },
            "/api/tournaments/{ref}/matches/{match_id}/restore/": {
                "post": {
                    "summary": "Restore a voided lobby (staff)",
                    "description": "It counts again exactly as before it was voided.",
                    "parameters": [REF_PARAM, MATCH_PARAM],
                    "security": STAFF,
                    "requestBody": body(api_bodies.RESTORE.schema()),
                    "responses": {**ok(LOBBY), **errors(400, 401, 403, 404, 409)},
                }
            },
            "/api/tournaments/{ref}/adjustments/": {
                "get": {
                    "summary": "Point adjustments, newest first (staff)",
                    "parameters": [REF_PARAM],
                    "security": STAFF,
                    "responses": {**ok({"type": "array", "items": ADJUSTMENT}), **errors(401, 403, 404)},
                },
                "post": {
                    "summary": "Add a penalty or bonus (staff)",
                    "parameters": [REF_PARAM],
                    "security": STAFF,
                    "requestBody": body(api_bodies.ADJUSTMENT_NEW.schema()),
                    "responses": {**ok(ADJUSTMENT, "Created", "201"), **errors(400, 401, 403, 404, 409)},
                },
            },
            "/api/tournaments/{ref}/adjustments/{adjustment_id}/": {
                "patch": {
                    "summary": "Edit an adjustment's points or reason (staff)",
                    "description": "Audited with before and after; `note` (optional) says why it changed.",
                    "parameters": [REF_PARAM, ADJUSTMENT_PARAM],
                    "security": STAFF,
                    "requestBody": body(api_bodies.ADJUSTMENT_EDIT.schema()),
                    "responses": {**ok(ADJUSTMENT), **errors(400, 401, 403, 404, 409)},
                },
                "delete": {
                    "summary": "Delete an adjustment (staff)",
                    "parameters": [REF_PARAM, ADJUSTMENT_PARAM],
                    "security": STAFF,
                    "requestBody": body(api_bodies.ADJUSTMENT_DELETE.schema()),
                    "responses": {
                        **ok(
                            {
                                "type": "object",
                                "properties": {
                                    "deleted": {"type": "boolean"},
                                    "id": {"type": "integer"},
                                    "participant_id": {"type": "string"},
                                    "points": {"type": "integer"},
                                    "reason": {"type": "string"},
                                },
                            }
                        ),
                        **errors(400, 401, 403, 404, 409),
                    },
                },
            },
            "/api/tournaments/{ref}/complete/": {
                "post": {
                    "summary": "Complete the tournament and freeze its results (staff)",
                    "parameters": [REF_PARAM],
                    "security": STAFF,
                    "responses": {**ok(TOURNAMENT), **errors(401, 403, 404, 409)},
                }
            },
            **_registration_paths(body),
        },
        "components": {
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
                **fieldspec.storable_json_components(),
            },
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
    }
