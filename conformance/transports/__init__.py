"""Transports: how the harness talks to a server under test."""
