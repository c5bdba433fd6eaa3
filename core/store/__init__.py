"""Stores: where runs, tasks and logs are kept (SQLite, DynamoDB)."""
