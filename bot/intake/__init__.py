"""Mentions coming in: connected accounts, polling, triage, account health and alerts."""
