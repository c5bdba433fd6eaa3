"""Example jobs a newcomer runs first: ``make dev`` serves `examples.jobs:client`."""
