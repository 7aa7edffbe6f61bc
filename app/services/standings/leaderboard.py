"""`LeaderboardService`: the seed's facade over the leaderboard modules, kept so callers written
against the seed (the API, the CLI, tests, the bench) keep one front door. It holds no rule; each
rule lives in the module that owns its concept, with the rule stated in that module's docstring:

- app.services.tournaments.lookup: which tournament an id or slug names;
- app.services.standings.engine: which results count and how battle-royale teams are ranked;
- app.services.standings.series_summaries: who wins a best-of series;
- app.services.standings.final_results: completing a tournament and freezing its final results;
- app.services.standings.overrides: staff overrides of final placements and their preview.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.models import Tournament
from app.services.standings import engine as standings
from app.services.standings import final_results, series_summaries
from app.services.standings import overrides as placement_overrides

__all__ = ["LeaderboardService"]


class LeaderboardService:
    """The seed's three operations (standings, series summary, placement override), plus the
    later ones callers reach through it; every method hands straight over to its module."""

    # ------------------------------------------------------------------ the seed's three

    @staticmethod
    def calculate_br_standings(
        tournament_id: int | str, match_ids: Sequence[int] | None = None, stage: str | None = None
    ) -> list[dict[str, Any]]:
        """Standings rows (contract §3) of a battle-royale tournament (app.services.standings.engine)."""
        return standings.br_standings(tournament_id, match_ids=match_ids, stage=stage)

    @staticmethod
    def calculate_series_summary(match_ids: Sequence[int]) -> dict[str, Any]:
        """Summary of one series from the ids of its games (app.services.standings.series_summaries)."""
        return series_summaries.series_summary(match_ids)

    @staticmethod
    def override_placement(
        tournament_id: int | str,
        participant_id: str,
        new_rank: int,
        reason: str,
        actor_id: int,
        *,
        expected_version: int | None = None,
    ) -> dict[str, Any]:
        """Pin a participant at a rank of the final results (app.services.standings.overrides)."""
        return placement_overrides.override_placement(
            tournament_id, participant_id, new_rank, reason, actor_id, expected_version=expected_version
        )

    # ------------------------------------------------------------------ added since the seed

    @staticmethod
    def series_summary_for_match(tournament_id: int | str, match_id: int) -> dict[str, Any]:
        return series_summaries.series_summary_for_match(tournament_id, match_id)

    @staticmethod
    def series_summary_by_key(tournament_id: int | str, series_key: str) -> dict[str, Any]:
        return series_summaries.series_summary_by_key(tournament_id, series_key)

    @staticmethod
    def complete_tournament(tournament_id: int | str, actor_id: int | None = None) -> Tournament:
        return final_results.complete_tournament(tournament_id, actor_id)

    @staticmethod
    def results(tournament_id: int | str) -> list[dict[str, Any]]:
        return final_results.results(tournament_id)

    @staticmethod
    def clear_override(
        tournament_id: int | str,
        participant_id: str,
        reason: str,
        actor_id: int,
        *,
        expected_version: int | None = None,
    ) -> dict[str, Any]:
        return placement_overrides.clear_override(
            tournament_id, participant_id, reason, actor_id, expected_version=expected_version
        )
