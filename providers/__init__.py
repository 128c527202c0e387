"""Adapters to external services: implementations of the ports in bot/."""
