"""Admin of the alerts app."""
