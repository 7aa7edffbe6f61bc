"""Domain events, declared once. Services send them after the change is committed; the
notification layer connects its receivers in `init_app`."""

from blinker import Namespace

deltacrown = Namespace()

payment_verified = deltacrown.signal("payment-verified")
payment_refunded = deltacrown.signal("payment-refunded")
match_started = deltacrown.signal("match-started")
match_completed = deltacrown.signal("match-completed")
match_disputed = deltacrown.signal("match-disputed")
tournament_completed = deltacrown.signal("tournament-completed")
placement_overridden = deltacrown.signal("placement-overridden")
leaderboard_updated = deltacrown.signal("leaderboard-updated")
payment_submitted = deltacrown.signal("payment-submitted")
payment_rejected = deltacrown.signal("payment-rejected")
registration_confirmed = deltacrown.signal("registration-confirmed")
registration_cancelled = deltacrown.signal("registration-cancelled")
