"""Accounts: what an email, password and name may be (`rules`), users as the CLI and portal manage
them (`users`), player sign-up and joining teams (`players`), email confirmation
(`verification`) and API bearer tokens (`tokens`)."""
