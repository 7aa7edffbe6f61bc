"""Business rules. Views and commands parse input, call these, and render the answer."""
