"""Models of the protocol app."""
