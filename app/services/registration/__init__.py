"""Registration: the settings and windows an organiser sets (`settings`, saved by `settings_save`),
the entry lifecycle (`entries`: register, pay, withdraw, check in; `decisions`: what staff decide;
`slots`: capacity, the registration lock and the waiting list; `timed_steps`: deadlines, no-shows
and offers), what the public page shows (`public_view`), what staff and captains read
(`records`), entry-fee payments (`payments`), proof screenshots (`proof_images`) and which
participants count as the tournament's teams (`roster_visibility`)."""
