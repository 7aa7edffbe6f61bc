"""Infrastructure the rules lean on but that states no tournament rule: attempt limits
(`throttle`), idempotency keys, the home page's list version, spreadsheet-safe CSV cells and the
demo data loader (`demo`)."""
