"""The page that stands in for the Slack channel: the HTML, the live updates, and what it sends.

The browser only ever sends ids (which message, which block and element, what was chosen) and
typed text; the relay builds Slack's request from the stored message, so a page cannot click
a button that is not there.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from bot.sandbox.relay import Outcome, Relay
from bot.sandbox.render import Renderer, dom_id
from bot.sandbox.slack import CHANNEL, VISITOR_ROLES, Persona, SimulatedSlack, dm_channel, persona_for
from bot.sandbox.web import Handler, Hub, Request, Response, Router

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


class Page:
    def __init__(self, slack: SimulatedSlack, relay: Relay, renderer: Renderer, hub: Hub) -> None:
        self.slack, self.relay, self.renderer, self.hub = slack, relay, renderer, hub

    def mount(self, router: Router) -> None:
        router.route("GET", r"/", self._index)
        router.route("GET", r"/static/([a-z]+\.(?:css|js))", self._static)
        router.route("GET", r"/archives/([A-Z0-9]+)/p(\d+)", self._archive)
        router.route("GET", r"/sandbox/events", self._events)
        router.route("GET", r"/sandbox/fragments", self._fragments)
        router.route("POST", r"/sandbox/command", _guarded(self._command))
        router.route("POST", r"/sandbox/action", _guarded(self._action))
        router.route("POST", r"/sandbox/view/submit", _guarded(self._submit))
        router.route("POST", r"/sandbox/view/action", _guarded(self._view_action))
        router.route("POST", r"/sandbox/view/close", _guarded(self._close))

    # -- who is looking --------------------------------------------------------------------------

    @staticmethod
    def _persona(role: Any) -> Persona:
        return persona_for(str(role) if role in VISITOR_ROLES else "officer")

    def _conversations(self, persona: Persona) -> tuple[str, str]:
        return CHANNEL, dm_channel(persona.id)

    # -- pages -----------------------------------------------------------------------------------

    def _index(self, request: Request, match: re.Match[str]) -> Response:
        persona = self._persona(request.arg("as", "officer"))
        return Response(200, self.renderer.page(persona), content_type="text/html; charset=utf-8")

    def _static(self, request: Request, match: re.Match[str]) -> Response:
        name = match.group(1)
        path = resources.files("bot.sandbox").joinpath("static", name)
        if not path.is_file():
            return Response(404, "Not Found")
        return Response(200, path.read_bytes(), content_type=STATIC_TYPES[name[name.rindex(".") :]])

    def _archive(self, request: Request, match: re.Match[str]) -> Response:
        """A message's permalink ("open card"): the page at that message, still as the same person,
        so a supervisor who opens a card from the queue can act on it as a supervisor."""
        channel, digits = match.group(1), match.group(2)
        ts = f"{digits[:-6]}.{digits[-6:]}"
        role = _visitor_role(request)
        page = f"/?{urlencode({'as': role})}" if role else "/"
        return Response(302, "", headers={"Location": f"{page}#{dom_id(channel, ts)}"})

    def _fragments(self, request: Request, match: re.Match[str]) -> Response:
        """Everything the page shows, for a page that lost its live connection for a while."""
        persona = self._persona(request.arg("as"))
        return Response(
            200,
            {
                "conversations": {
                    c: self.renderer.conversation(c, persona.id) for c in self._conversations(persona)
                },
                "timelines": {k: self.renderer.timeline(k) for k in self.renderer.platforms},
                "modal": self.renderer.modal(self.slack.view_of(persona.id)),
            },
        )

    def _events(self, request: Request, match: re.Match[str]) -> Response:
        persona = self._persona(request.arg("as"))

        def render(event: dict[str, Any]) -> dict[str, Any] | None:
            return self.render_event(event, persona)

        return Response(
            200,
            self.hub.stream(render),
            content_type="text/event-stream; charset=utf-8",
            headers={"X-Accel-Buffering": "no"},
        )

    def render_event(self, event: dict[str, Any], persona: Persona) -> dict[str, Any] | None:
        """One change, as this visitor's page should apply it (None: not theirs to see)."""
        kind = event.get("kind")
        if kind == "timeline":
            key = str(event.get("platform"))
            return {"op": "timeline", "platform": key, "html": self.renderer.timeline(key)}
        if kind == "view":
            if event.get("user") != persona.id:
                return None
            return {"op": "modal", "html": self.renderer.modal(self.slack.view_of(persona.id))}
        channel, ts = str(event.get("channel")), str(event.get("ts"))
        if channel not in self._conversations(persona) or event.get("user") not in (None, persona.id):
            return None
        if kind == "deleted":
            return {"op": "remove", "id": dom_id(channel, ts)}
        message = self.slack.find(channel, ts)
        if message is None:
            return None
        top = self.slack.find(channel, message.thread_ts) if message.thread_ts else None
        shown = top or message
        return {
            "op": "upsert",
            "conv": channel,
            "id": dom_id(channel, shown.ts),
            "html": self.renderer.message(shown, persona.id),
            "dm": channel.startswith("D"),
        }

    # -- what the visitor does -------------------------------------------------------------------

    def _body(self, request: Request) -> tuple[Persona, dict[str, Any]]:
        body = request.json()
        body = body if isinstance(body, dict) else {}
        return self._persona(body.get("as")), body

    @staticmethod
    def _answer(outcome: Outcome) -> Response:
        return Response(200 if outcome.ok or outcome.errors else 400, outcome.as_json())

    def _command(self, request: Request, match: re.Match[str]) -> Response:
        persona, body = self._body(request)
        channel = str(body.get("channel") or CHANNEL)
        if channel not in self._conversations(persona):
            channel = CHANNEL
        text = str(body.get("text") or "")[:4000]
        return self._answer(self.relay.command(persona.id, channel, text))

    def _action(self, request: Request, match: re.Match[str]) -> Response:
        persona, body = self._body(request)
        return self._answer(
            self.relay.click(
                persona.id,
                str(body.get("channel") or ""),
                str(body.get("ts") or ""),
                str(body.get("block_id") or ""),
                str(body.get("action_id") or ""),
                body.get("value"),
            )
        )

    def _submit(self, request: Request, match: re.Match[str]) -> Response:
        persona, body = self._body(request)
        values = _values(body)
        return self._answer(self.relay.submit(persona.id, values))

    def _view_action(self, request: Request, match: re.Match[str]) -> Response:
        persona, body = self._body(request)
        values = _values(body)
        return self._answer(
            self.relay.click_in_view(
                persona.id,
                str(body.get("block_id") or ""),
                str(body.get("action_id") or ""),
                body.get("value"),
                values,
            )
        )

    def _close(self, request: Request, match: re.Match[str]) -> Response:
        persona, _body = self._body(request)
        return self._answer(self.relay.close(persona.id))


def _visitor_role(request: Request) -> str | None:
    """Who asked: the link's own `as`, else the `as` of the page the link was on."""
    role = request.arg("as")
    if role not in VISITOR_ROLES:
        referer = parse_qs(urlsplit(request.headers.get("referer", "")).query).get("as") or [""]
        role = referer[0]
    return role if role in VISITOR_ROLES else None


def _values(body: dict[str, Any]) -> dict[str, Any]:
    values = body.get("values")
    return values if isinstance(values, dict) else {}


def _from_the_page(request: Request) -> bool:
    """Only the page's own script may act: a JSON body (another site's form cannot send one without
    asking first, and nothing here answers that question) from this host, not a renamed one."""
    host = request.headers.get("host", "").rsplit(":", 1)[0]
    origin = request.headers.get("origin", "")
    same_origin = not origin or origin.split("://", 1)[-1].rsplit(":", 1)[0] in LOCAL_HOSTS
    return (
        request.headers.get("content-type", "").startswith("application/json")
        and host in LOCAL_HOSTS
        and same_origin
    )


def _guarded(handler: Handler) -> Handler:
    def guarded(request: Request, match: re.Match[str]) -> Response:
        if not _from_the_page(request):
            return Response(403, {"ok": False, "notice": "Only the sandbox page can do this."})
        return handler(request, match)

    return guarded
