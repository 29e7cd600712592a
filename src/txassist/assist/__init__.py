"""The per-turn assist call: one request per customer turn, everything the agent needs in one response."""
