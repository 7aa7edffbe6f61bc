"""Standings: the ranking engine and which results count (`engine`), what the public board shows
around the rows (`board`, with its `filters`, English `tie_notes`, `chart` layout and
`lobby_pages`), what a battle-royale tournament shows now (`shown`), series summaries,
completion and frozen final results (`final_results`), staff overrides of a final place
(`overrides`), and the seed's `LeaderboardService` facade (`leaderboard`)."""
