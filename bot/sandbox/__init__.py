"""The sandbox: TwoWay working on one computer with no accounts (`twoway sandbox`).

Simulated X and Facebook accounts (their real wire formats, so the real connectors poll them), a
simulated Slack workspace (the Web API TwoWay's client talks to) and a page that stands in for
the Slack channel, all on 127.0.0.1. Only `bot.app` uses it: it is a fake of the outside world,
and knows nothing of TwoWay but the wire formats and `/slack/events`.
"""
