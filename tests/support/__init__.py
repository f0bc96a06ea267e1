"""What tests share: fake Slack, X and Graph servers, signed Slack requests, the world builder and rows."""
