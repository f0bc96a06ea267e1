"""Setting TwoWay up from Slack: the review channel, accounts, roles, templates, FAQs, agency details."""
