"""Local fake servers of Slack, X and the Graph API that speak their wire formats."""
