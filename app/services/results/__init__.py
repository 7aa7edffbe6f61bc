"""Results as staff enter them: battle-royale lobbies (`lobbies`, with the keys an open grid holds
in `lobby_keys`), series games and forfeits (`series`), and the per-tournament lock every result
change takes first (`locks`)."""
