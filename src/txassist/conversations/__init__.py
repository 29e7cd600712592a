"""Customers, identity links, conversations and turns, and the context that follows a customer."""
