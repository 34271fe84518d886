"""The store contract: one suite every measurement store passes."""
