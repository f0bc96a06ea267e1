"""The application: configuration, the Slack app, the scheduler and the CLI."""

__version__ = "0.1.0"
