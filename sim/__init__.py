"""Local simulators of external platforms, for tests and development."""
