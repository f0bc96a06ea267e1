"""Keeping response times down: assignment, the queue, SLA reminders, digests, reports, the export."""
