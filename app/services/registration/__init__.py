"""Registration: the settings and windows an organiser sets (`settings`), the entry lifecycle
(`entries`: register, pay, decide, withdraw, check in, the timed steps), what staff and captains
read (`records`), entry-fee payments (`payments`), proof screenshots (`proof_images`) and which
participants count as the tournament's teams (`roster_visibility`)."""
