"""The Slack transport and UI kit: the Bolt app, HTTP and Socket Mode, clients, the outbox,
escaping, formatting, the command registry and roles. It never imports a feature."""
