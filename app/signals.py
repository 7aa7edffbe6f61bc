"""Domain events, declared once: the only way a service announces a change to the outside world.

The rule: a service sends the signal of a change INSIDE the transaction of that change, after
making it and before its commit (never after, never for a refused change or a no-op). The
receivers connected by `app.notifications` write what the event owes (the outbox event, its
webhook deliveries, in-app notifications, email deliveries) into the same session, so the
event commits or rolls back with its change; a receiver that raises aborts the change. Services
import nothing from `app.notifications`; the listeners import no service.

Each signal is named after the event type it becomes (contract §6) and is sent with the
changed object as sender and these keyword arguments:

- `payment_verified`, `payment_refunded`: sender the `Payment`; `tournament_id`, `payment_id`,
  `actor_id`.
- `match_started`, `match_completed`, `match_disputed`: sender the `Match`; `tournament`,
  `tournament_id`, `match_id`, `state`, and `previous_state` and `reason` (staff's reason for a
  dispute, or their note when settling one) on a state move.
- `match_corrected`: sender the `Match` (a completed lobby whose results staff corrected);
  `tournament`, `changes` ({participant key: {"before": [placement, kills, points] | None,
  "after": ...}} for the teams whose line changed), `reason`.
- `tournament_completed`: sender the `Tournament`; `tournament_id`, `actor_id`.
- `placement_overridden`: sender the `TournamentResult` that was pinned or unpinned;
  `tournament`, `tournament_id`, `participant_id`, `old_rank`, `new_rank`, `cleared`, `reason`,
  `moved` ({participant key: [old rank, new rank]} for every team whose place changed).
- `leaderboard_updated`: sender the `Tournament`; `tournament_id`.
- `payment_submitted`, `payment_rejected`: sender the `Entry`; `entry_id`, `proof_id`,
  `actor_id`.
- `registration_confirmed`: sender the `Entry`; `entry_id`, `actor_id`.
- `registration_cancelled`: sender the `Entry`; `entry_id`, `actor_id`, `reason`, `passed_on`
  (its slot goes to a waiting-listed team in this transaction), `note` (staff's words).
- `tournament_announced`: sender the `Announcement`; `tournament_id`, `announcement_id`,
  `actor_id` (staff's message to every team of the tournament; people only, never a webhook).

The listeners are `app.notifications.listeners` (one per signal, all writing through
`outbox.emit`); README "Signals and who listens" lists the same.
"""

from blinker import Namespace

deltacrown = Namespace()

payment_verified = deltacrown.signal("payment.verified")
payment_refunded = deltacrown.signal("payment.refunded")
match_started = deltacrown.signal("match.started")
match_completed = deltacrown.signal("match.completed")
match_disputed = deltacrown.signal("match.disputed")
tournament_completed = deltacrown.signal("tournament.completed")
placement_overridden = deltacrown.signal("placement.overridden")
leaderboard_updated = deltacrown.signal("leaderboard.updated")
payment_submitted = deltacrown.signal("payment.submitted")
payment_rejected = deltacrown.signal("payment.rejected")
registration_confirmed = deltacrown.signal("registration.confirmed")
registration_cancelled = deltacrown.signal("registration.cancelled")
# A waiting-listed team offered a freed slot: told in the inbox and by email, never by webhook
# (the webhook types are a published format; this one is for the team alone).
registration_offered = deltacrown.signal("registration.offered")
# Staff's announcement to every team of a tournament (app/services/announcements.py): inbox and
# email, never a webhook (the message is for the players).
tournament_announced = deltacrown.signal("tournament.announcement")
# A completed lobby's results corrected: told to the teams whose line changed, never by webhook
# (`leaderboard.updated` is the receivers' news of it).
match_corrected = deltacrown.signal("match.corrected")
