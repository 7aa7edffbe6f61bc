"""Tournaments: finding one (`lookup`), setting it up from the portal (`setup`: create, edit,
participants, adjustments), moving it and its matches through their states (`states`), putting
right what was entered wrong (`corrections`), and the `deltacrown.tournament/v1` file (`file`)."""
