"""Text facts every capability shares: the language a customer writes in."""
