"""Admin of the protocol app."""
