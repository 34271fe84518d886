"""Admin of the measurements app."""
