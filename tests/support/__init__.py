"""Shared test helpers: real servers (moto, dynalite) and small utilities."""
