"""The test suite, laid out as the app is (README, "Tests")."""

import os

# The repository's root, by which tests find its files wherever in tests/ they sit.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
