"""Speaker-role inference evaluation."""
