"""Route modules of the server, one per area of the wire protocol."""
