"""Built-in utilities that keep their state in the hub's own database and need no connection."""
