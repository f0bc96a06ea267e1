"""Wiring: the `twoway` command line, `twoway run`, start-up and the scheduler.

The only package that knows every feature; nothing imports it back.
"""
