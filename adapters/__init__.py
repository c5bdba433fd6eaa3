"""Thin adapters that put `triggerfish.core` on a platform: asgi, aws_lambda, cli."""
