"""The Slack side of TwoWay: Bolt app, Block Kit builders, listeners and the card outbox."""
