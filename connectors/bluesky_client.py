"""A Bluesky account through the `atproto` package: mentions, replies and quotes; replying; liking.

Loaded only when a Bluesky connector is built (`connectors/bluesky.py`): importing atproto costs
about a second and 40 MB, which every `twoway` command would otherwise pay.

The account logs in with an app password (`createSession`), which the service allows only about
30 times in 5 minutes and 300 a day, so the session is kept: atproto refreshes it 15 minutes
before the access token expires and tells us (`on_session_change`), and the bot stores it sealed
in `accounts.session` for the next poll, the next click and the next start. A session the service
no longer accepts (its refresh token expired or was revoked) costs one new login; a refused login
(a revoked app password) is `AuthFailed`, which puts up the account's alert card.

One request per idle poll: `listNotifications` filtered to mentions, replies and quotes, newest
first, paged down to the newest one seen before (minus a re-read margin); every item on a page read
is handed on back to 24 hours, however it sorts (storage drops the repeats). A page with new items costs
one more request per 25 distinct posts they answer or quote (`getPosts`), usually one. Replies name the thread's root and the post answered.
Bluesky offers no hiding of one reply by its API, so cards show no Hide button.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from atproto_client import Client, models
from atproto_client.client.session import Session, SessionEvent
from atproto_client.exceptions import (
    BadRequestError,
    LoginRequiredError,
    ModelError,
    NetworkError,
    RateLimitExceededError,
    RequestErrorBase,
    UnauthorizedError,
)
from atproto_client.models.common import XrpcError
from atproto_client.models.utils import get_model_as_dict, get_or_create
from atproto_client.request import Request, Response
from atproto_client.utils.facet_detection import detect_facets
from atproto_core.exceptions import AtProtocolError
from pydantic_core import from_json

from connectors.base import (
    AmbiguousOutcome,
    AuthFailed,
    ConnectorError,
    Page,
    PollOutcome,
    PostGone,
    RateLimited,
    Rejected,
    SessionSaver,
    TransientError,
)
from connectors.graph import MALFORMED, Malformed, excerpt, maybe_time
from connectors.http import quiet_library_debug_logs, redact
from domain import AccountIdentity, Author, Mention, Platform, PostedReply

log = logging.getLogger(__name__)

T = TypeVar("T")
REASONS = ["mention", "reply", "quote"]
PAGE = 100  # the most listNotifications serves
MAX_PAGES = 50  # 5,000 new notifications in one poll; older ones are reported as a backlog gap
POSTS_PER_CALL = 25  # the most getPosts takes; a page's parents are read in chunks of this many
FIRST_POLL = timedelta(hours=24)
# A notification's `indexedAt` is its sort time, the earlier of the post's `createdAt` and when the
# AppView indexed it, so a post indexed late (firehose lag, a slow PDS), written on a device whose
# clock is slow, or backdated can sort below what the last poll read. Paging stops at the first page
# reaching two minutes below the cursor, but every item on the pages read is handed on back to
# FIRST_POLL before now (the re-read items ask for no parent text); storage drops the repeats by id.
OVERLAP = timedelta(minutes=2)
# What the service says of an access token it no longer takes: the PDS answers an expired JWT with
# 400 `ExpiredToken` and one it cannot verify with 400 `InvalidToken`; a revoked or missing one is
# 401 (`AuthenticationRequired`, `AuthMissing`, `InvalidToken`, `ExpiredToken`). Never the generic
# 400 `InvalidRequest`: that is the service refusing the call itself (a deleted post, a too long
# text), and a login for each would spend the rationed logins (30 per 5 minutes).
TOKEN_ERRORS = {"ExpiredToken", "InvalidToken"}
DEFINITE_WRITE_STATUSES = {409, 413}  # atproto raises these as NetworkError, but nothing was written
POST = "app.bsky.feed.post"
# app.bsky.feed.post caps its text at 300 graphemes and 3,000 UTF-8 bytes (atproto's model at 3,000
# code points, never more than the bytes); the reply form checks both (handlers/text.py).
MAX_POST_BYTES = 3000
KEPT_TOKENS = 6  # the JWTs of the last three sessions, scrubbed from error texts by value
# Any JWT or part of one (header and payload are base64url JSON, so they start "eyJ"): an error
# may quote a token this connector never held, or only its payload.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*)*")


class BlueskyConnector:
    """One Bluesky account logged in with an app password; its session kept between runs."""

    platform: Platform = "bluesky"

    def __init__(
        self, *, service_url: str, timeout: float, handle: str, app_password: str, did: str | None = None
    ) -> None:
        quiet_library_debug_logs()
        for name in ("httpx", "httpcore"):  # they log request lines (and headers at DEBUG)
            logging.getLogger(name).setLevel(
                max(logging.getLogger(name).getEffectiveLevel(), logging.WARNING)
            )
        self.service_url = service_url.rstrip("/")
        self.handle = handle.removeprefix("@")
        self.password = app_password
        self.tokens: list[str] = []  # the session's JWTs and the ones before: kept out of error texts
        self.did = did
        self.sent = 0
        self.client = self._client(timeout)
        self.saver: SessionSaver | None = None
        self.stored: str | None = None  # a saved session not yet taken back into the client
        self.logins = 0

    def _client(self, timeout: float) -> Client:
        def count(request: httpx.Request) -> None:
            self.sent += 1

        client = Client(
            base_url=self.service_url,
            request=_LenientRequest(timeout=timeout, event_hooks={"request": [count]}),
        )
        client.on_session_change(self._changed)
        return client

    # -- the kept session (KeepsSession) ---------------------------------------------------------

    def restore(self, saved: str) -> None:
        try:
            loaded = json.loads(saved)
            if loaded.get("service") == self.service_url and loaded.get("login") == self.handle.lower():
                Session.decode(str(loaded["session"]))  # readable, or it is not taken back
                self.stored = str(loaded["session"])
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("the saved Bluesky session is unreadable; the next call logs in afresh")

    def keep(self, saver: SessionSaver) -> None:
        self.saver = saver

    def saved(self) -> str | None:
        session = self.client._session
        return self._dump(session) if session is not None else None

    def _dump(self, session: Session) -> str:
        return json.dumps(
            {"service": self.service_url, "login": self.handle.lower(), "session": session.export()}
        )

    def _changed(self, event: SessionEvent, session: Session) -> None:
        self.tokens = [*self.tokens[-(KEPT_TOKENS - 2) :], session.access_jwt, session.refresh_jwt]
        if event is SessionEvent.IMPORT:
            return  # taken back from the store: nothing new to keep
        self.did = session.did
        if self.saver is not None:
            self.saver(self._dump(session))

    # -- sessions and errors ----------------------------------------------------------------------

    def _said(self, exc: BaseException) -> str:
        """What the service said, without this account's secrets: a PDS or proxy that echoes the
        request's bearer token (or a login's password) would otherwise put a live session into
        the log and into the account's health shown in Slack."""
        session = self.client._session
        secrets = [*self.tokens, self.password]
        if session is not None:
            secrets += [session.access_jwt, session.refresh_jwt]
        return _said(exc, secrets)

    def _login(self) -> None:
        """`createSession` with the app password: rationed by the service, so only when needed."""
        self.logins += 1
        self.client.update_base_url(self.service_url)  # logins go to the service, not a former PDS
        try:
            self.client.login(self.handle, self.password, fetch_bsky_profile=False)
        except UnauthorizedError as exc:
            raise AuthFailed(f"Bluesky refused the handle and app password ({self._said(exc)})") from None
        except BadRequestError as exc:
            raise AuthFailed(f"Bluesky refused the login ({self._said(exc)})") from None
        except RateLimitExceededError as exc:
            raise RateLimited(f"Bluesky limits logins ({self._said(exc)})", exc.reset_at) from None
        except (AtProtocolError, *MALFORMED) as exc:
            raise TransientError(f"Bluesky login failed ({self._said(exc)})") from None

    def _session(self) -> bool:
        """Make sure the client has a session; True when it was just created by a login."""
        if self.client._session is not None:
            return False
        if self.stored is not None:
            stored, self.stored = self.stored, None
            try:
                self.client.login(session_string=stored, fetch_bsky_profile=False)
                return False
            except (AtProtocolError, *MALFORMED):
                log.info("the saved Bluesky session could not be taken back; logging in")
        self._login()
        return True

    def _authed(self, call: Callable[[], T]) -> T:
        """`call` with a session; a session the service no longer takes costs one new login."""
        fresh = self._session()
        try:
            return call()
        except (UnauthorizedError, BadRequestError, LoginRequiredError) as exc:
            if fresh or not _token_trouble(exc):
                raise
            log.info("Bluesky no longer accepts the saved session (%s); logging in again", self._said(exc))
        self._login()
        return call()

    def _read(self, call: Callable[[], T]) -> T:
        try:
            return self._authed(call)
        except ConnectorError:
            raise
        except RateLimitExceededError as exc:
            raise RateLimited(f"Bluesky rate limit reached ({self._said(exc)})", exc.reset_at) from None
        except (UnauthorizedError, LoginRequiredError) as exc:
            raise AuthFailed(f"Bluesky refused the session ({self._said(exc)})") from None
        except (AtProtocolError, *MALFORMED) as exc:
            raise TransientError(f"Bluesky read failed ({self._said(exc)})") from None

    def _write(self, call: Callable[[], T]) -> T:
        try:
            return self._authed(call)
        except ConnectorError:
            raise
        except RateLimitExceededError as exc:
            raise RateLimited(f"Bluesky rate limit reached ({self._said(exc)})", exc.reset_at) from None
        except (UnauthorizedError, LoginRequiredError) as exc:
            raise AuthFailed(f"Bluesky refused the session ({self._said(exc)})") from None
        except BadRequestError as exc:
            raise Rejected(f"Bluesky refused it ({self._said(exc)})") from None
        except NetworkError as exc:
            if exc.response is not None and exc.response.status_code in DEFINITE_WRITE_STATUSES:
                raise Rejected(f"Bluesky refused it ({self._said(exc)})") from None
            raise AmbiguousOutcome(
                f"Bluesky did not answer clearly ({self._said(exc)}); it may exist"
            ) from None
        except (AtProtocolError, *MALFORMED) as exc:
            raise AmbiguousOutcome(
                f"Bluesky sent an unclear answer ({self._said(exc)}); it may exist"
            ) from None

    # -- identity -------------------------------------------------------------------------------

    def identify(self) -> AccountIdentity:
        def profile() -> Any:
            session = self.client._session
            assert session is not None
            return self.client.app.bsky.actor.get_profile(
                models.AppBskyActorGetProfile.Params(actor=session.did)
            )

        found = self._read(profile)
        try:
            did, handle = found.did, found.handle
            if not did.startswith("did:") or not handle:
                raise ValueError("did or handle")
        except MALFORMED as exc:
            raise TransientError("Bluesky sent a malformed profile") from exc
        self.did = did
        return AccountIdentity("bluesky", did, handle, str(found.display_name or handle))

    def _me(self) -> str:
        if self.did is None:
            self._read(lambda: None)
            session = self.client._session
            if session is None:
                raise TransientError("Bluesky gave no session")
            self.did = session.did
        return self.did

    # -- reading ----------------------------------------------------------------------------------

    def fetch(
        self,
        cursor: str | None,
        now: datetime,
        outcome: PollOutcome,
        progress: Mapping[str, str] | None = None,
    ) -> Iterator[Page]:
        start = self.sent
        try:
            yield from self._fetch(cursor, now, outcome)
        finally:
            outcome.requests += self.sent - start

    def _notifications(self, params: Any) -> dict[str, Any]:
        """The page as sent: the library's `list_notifications` validates the whole page at once,
        so one malformed notification would fail every poll and stop every later mention."""
        response = self.client.invoke_query(
            "app.bsky.notification.listNotifications", params=params, output_encoding="application/json"
        )
        if not isinstance(response.content, dict):
            raise TransientError("Bluesky sent a malformed notification list")
        return response.content

    @staticmethod
    def _valid(items: Any) -> tuple[list[dict[str, Any]], int]:
        """Each notification that reads as one (as dicts, as before), and how many did not."""
        if not isinstance(items, list):
            raise TransientError("Bluesky sent a malformed notification list")
        listed, skipped = [], 0
        for item in items:
            try:
                model = get_or_create(item, models.AppBskyNotificationListNotifications.Notification)
                listed.append(get_model_as_dict(model))
            except (ModelError, *MALFORMED) as exc:
                log.warning("skipped a malformed Bluesky notification (%s)", type(exc).__name__)
                skipped += 1
        return listed, skipped

    def _fetch(self, cursor: str | None, now: datetime, outcome: PollOutcome) -> Iterator[Page]:
        me = self._me()
        previous = maybe_time(cursor)
        floor = previous - OVERLAP if previous else now - FIRST_POLL
        newest = previous
        page_cursor: str | None = None
        seen_cursors: set[str] = set()
        for _ in range(MAX_PAGES):
            params = models.AppBskyNotificationListNotifications.Params(
                limit=PAGE, reasons=REASONS, cursor=page_cursor
            )
            body = self._read(lambda p=params: self._notifications(p))  # type: ignore[misc]
            listed, skipped = self._valid(body.get("notifications"))
            fresh, reached_old = [], False
            for item in listed:
                indexed = maybe_time(item.get("indexedAt"))
                if indexed is not None and indexed < floor:
                    reached_old = True  # this page is the last one read
                    if previous is None:
                        break  # a first poll reads back FIRST_POLL only; the rest is older still
                    if indexed < now - FIRST_POLL:
                        continue  # older than any poll reads back: no card for a months-old post
                if indexed is not None and (newest is None or indexed > newest):
                    newest = indexed
                if item.get("reason") not in REASONS:
                    continue
                fresh.append(item)
            parents = self._parents([i for i in fresh if previous is None or _after(i, previous)])
            mentions = []
            for item in fresh:
                try:
                    mention = self._mention(item, me, parents)
                except (Malformed, *MALFORMED) as exc:
                    log.warning("skipped a Bluesky notification with a missing or malformed field: %s", exc)
                    skipped += 1
                    continue
                if mention is not None:
                    mentions.append(mention)
            yield Page(mentions=tuple(mentions), skipped=skipped)
            page_cursor = body.get("cursor") if isinstance(body.get("cursor"), str) else None
            if reached_old or not listed or not page_cursor:
                break
            if page_cursor in seen_cursors:
                raise TransientError("Bluesky repeated a notification page")
            seen_cursors.add(page_cursor)
        else:
            # Reading on without end would never move the cursor; say what was left unread instead.
            outcome.backlog_gap = True
            outcome.notes.append(
                f"over {MAX_PAGES * PAGE} new Bluesky notifications since the last poll; older ones were not read"
            )
        outcome.cursor = newest.isoformat() if newest else cursor

    def _parents(self, fresh: list[dict[str, Any]]) -> dict[str, str]:
        """The text of the posts these answer or quote, by URI: one `getPosts` per 25 distinct
        posts (at most PAGE / 25 = 4 for a page; most pages need one)."""
        wanted: list[str] = []
        for item in fresh:
            uri = _parent_uri(item)
            if uri and uri not in wanted:
                wanted.append(uri)
        posts: list[dict[str, Any]] = []
        for start in range(0, len(wanted), POSTS_PER_CALL):
            chunk = wanted[start : start + POSTS_PER_CALL]
            try:
                found = self._read(
                    lambda c=chunk: self.client.app.bsky.feed.get_posts(  # type: ignore[misc]
                        models.AppBskyFeedGetPosts.Params(uris=c)
                    )
                )
                posts += [get_model_as_dict(p) for p in found.posts]
            except (TransientError, *MALFORMED) as exc:  # only the "Replying to" line is missing
                log.info("could not read the posts Bluesky mentions answer: %s", exc)
                break
        texts = {}
        for post in posts:
            record = post.get("record")
            if (
                isinstance(post.get("uri"), str)
                and isinstance(record, dict)
                and isinstance(record.get("text"), str)
            ):
                texts[post["uri"]] = full_links(record)
        return texts

    def _mention(self, item: Mapping[str, Any], me: str, parents: Mapping[str, str]) -> Mention | None:
        author = item.get("author")
        record = item.get("record")
        if not isinstance(author, dict) or not isinstance(record, dict):
            raise Malformed("author or record missing")
        uri, cid = item.get("uri"), item.get("cid")
        did, handle, text = author.get("did"), author.get("handle"), record.get("text")
        for name, value in (("uri", uri), ("cid", cid), ("author.did", did), ("author.handle", handle)):
            if not isinstance(value, str) or not value:
                raise Malformed(f"{name} missing")
        assert isinstance(uri, str)
        assert isinstance(did, str)
        assert isinstance(handle, str)
        if not isinstance(text, str):
            raise Malformed("text missing")
        text = full_links(record)
        if did == me:
            return None
        created = maybe_time(record.get("createdAt")) or maybe_time(item.get("indexedAt"))
        if created is None:
            raise Malformed("no readable time")
        reply = record.get("reply") if isinstance(record.get("reply"), dict) else None
        root = _ref(reply.get("root")) if reply else None
        parent = _ref(reply.get("parent")) if reply else None
        parent_uri = _parent_uri(item)
        parent_text = parents.get(parent_uri) if parent_uri else None
        return Mention(
            platform="bluesky",
            external_id=uri,
            account_external_id=me,
            author=Author(
                id=did,
                handle=handle,
                name=str(author.get("displayName") or ""),
                url=f"https://bsky.app/profile/{did}",
            ),
            text=text,
            url=web_url(uri),
            created_at=min(created.astimezone(UTC), maybe_time(item.get("indexedAt")) or created),
            conversation_id=root["uri"] if root else uri,
            parent_id=parent["uri"] if parent else parent_uri,
            parent_text=excerpt(parent_text) if parent_text else None,
            explicit_mention=True,
            raw={
                "reason": item.get("reason"),
                "post": {"uri": uri, "cid": cid},
                "root": root or {"uri": uri, "cid": cid},
                "notification": dict(item),
            },
        )

    # -- writing ------------------------------------------------------------------------------------

    def reply(self, mention: Mention, text: str) -> PostedReply:
        """A post whose `reply` names the thread's root and the mention as its parent."""
        parent = _ref(mention.raw.get("post"))
        root = _ref(mention.raw.get("root")) or parent
        if parent is None or root is None:
            raise Rejected("this item does not say which Bluesky post to answer")
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_POST_BYTES:  # atproto's model would raise, and the PDS refuse it
            raise Rejected(f"the reply is {size:,} bytes; a Bluesky post holds at most {MAX_POST_BYTES:,}")
        strong = models.ComAtprotoRepoStrongRef.Main
        try:
            record = models.AppBskyFeedPost.Record(
                text=text,
                created_at=self.client.get_current_time_iso(),
                reply=models.AppBskyFeedPost.ReplyRef(root=strong(**root), parent=strong(**parent)),
                facets=detect_facets(text) or None,  # links and tags clickable, as the app makes them
            )
        except (ModelError, ValueError) as exc:  # pydantic's message quotes the text: not passed on
            raise Rejected(f"atproto would not make a post of this reply ({type(exc).__name__})") from None
        self._may_answer(parent["uri"])
        created = self._write(lambda: self.client.app.bsky.feed.post.create(self._me(), record))
        uri = getattr(created, "uri", None)
        if not isinstance(uri, str) or not uri:
            raise AmbiguousOutcome("Bluesky accepted the reply but its answer was unreadable")
        return PostedReply(external_id=uri, url=web_url(uri))

    def _may_answer(self, uri: str) -> None:
        """Bluesky stores a reply its author's thread rules (a threadgate) or a block forbid, and
        hides it: it would be recorded as sent while nobody sees it. So the post is read first, as
        the app does before it offers a reply; if it cannot be read now, the reply is tried."""
        try:
            found = self._read(
                lambda: self.client.app.bsky.feed.get_posts(models.AppBskyFeedGetPosts.Params(uris=[uri]))
            )
            views = [get_model_as_dict(p) for p in found.posts]
        except (TransientError, RateLimited, *MALFORMED):
            return
        if not views:
            raise PostGone("Bluesky says the post no longer exists (deleted, or its author is blocked)")
        viewer, author = _object(views[0].get("viewer")), _object(views[0].get("author"))
        blocks = _object(author.get("viewer"))
        if blocks.get("blockedBy") or blocks.get("blocking"):
            raise Rejected(
                "the account and this post's author block one another on Bluesky; nothing was posted"
            )
        if viewer.get("replyDisabled"):
            raise Rejected("the author limits who can reply to this post on Bluesky; nothing was posted")

    def like(self, mention: Mention) -> None:
        subject = _ref(mention.raw.get("post"))
        if subject is None:
            raise Rejected("this item does not say which Bluesky post to like")
        record = models.AppBskyFeedLike.Record(
            subject=models.ComAtprotoRepoStrongRef.Main(**subject),
            created_at=self.client.get_current_time_iso(),
        )
        self._write(lambda: self.client.app.bsky.feed.like.create(self._me(), record))

    def hide(self, mention: Mention) -> None:
        raise Rejected("Bluesky offers no way for an app to hide one reply")


class _LenientRequest(Request):  # type: ignore[misc]  # atproto is untyped here (pyproject)
    """atproto's transport, reading a JSON body that pydantic's strict parser refuses (a lone
    surrogate escape such as "\\ud83d", half an emoji) with U+FFFD in its place: otherwise one such
    post fails the page on every poll and the account reads nothing again."""

    def get(self, *args: Any, **kwargs: Any) -> Response:
        return _parsed(self._send_request("GET", *args, **kwargs))

    def post(self, *args: Any, **kwargs: Any) -> Response:
        return _parsed(self._send_request("POST", *args, **kwargs))


def _parsed(response: httpx.Response) -> Response:
    """As atproto parses a successful answer, with the standard library as the fallback."""
    content: Any = response.content
    content_type = response.headers.get("content-type")
    if content_type and "application/json" in content_type.lower():
        try:
            content = from_json(response.content)
        except ValueError:
            content = _replaced(json.loads(response.content))  # still ValueError when truly malformed
    return Response(
        success=True,
        status_code=response.status_code,
        content=content,
        headers={key.lower(): value for key, value in response.headers.items()},
    )


def _replaced(value: Any) -> Any:
    """Every lone surrogate in the decoded body made U+FFFD, as the other connectors do."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return value
    if isinstance(value, dict):
        return {_replaced(k): _replaced(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_replaced(v) for v in value]
    return value


def _after(item: Mapping[str, Any], moment: datetime) -> bool:
    """Indexed after `moment`: new since the last poll, not the overlap re-read (already stored)."""
    indexed = maybe_time(item.get("indexedAt"))
    return indexed is None or indexed > moment


LINK_FACET = "app.bsky.richtext.facet#link"


def full_links(record: Mapping[str, Any]) -> str:
    """The post's text with each link as its facet says it goes: the app writes a long link
    shortened into the text ("youtube.com/watch?v=dQw4...") and the whole address only in the
    facet, and staff must be able to open what a resident sent. Facets index UTF-8 bytes; a facet
    that does not fit the text leaves the text as it is."""
    text = record.get("text")
    if not isinstance(text, str):
        return ""
    links: list[tuple[int, int, str]] = []
    for facet in _listed(record.get("facets")):
        index = facet.get("index") if isinstance(facet, dict) else None
        features = facet.get("features") if isinstance(facet, dict) else None
        uri = next(
            (
                f.get("uri")
                for f in (features if isinstance(features, list) else [])
                if isinstance(f, dict) and f.get("$type") == LINK_FACET
            ),
            None,
        )
        if isinstance(index, dict) and isinstance(uri, str) and uri.startswith(("https://", "http://")):
            start, end = index.get("byteStart"), index.get("byteEnd")
            if isinstance(start, int) and isinstance(end, int):
                links.append((start, end, uri))
    data = text.encode("utf-8", "surrogatepass")
    last = len(data)
    for start, end, uri in sorted(links, reverse=True):
        if not 0 <= start < end <= last:
            return text  # overlapping or outside the text: not the app's facets
        data, last = data[:start] + uri.encode() + data[end:], start
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return text


def web_url(uri: str) -> str:
    """bsky.app's page of a post, by its author's DID: a handle can change, or fail verification
    ("handle.invalid"), and a link kept in the agency's records must still open."""
    did, _, rkey = uri.removeprefix("at://").partition("/app.bsky.feed.post/")
    return f"https://bsky.app/profile/{did}/post/{rkey}"


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _ref(value: Any) -> dict[str, str] | None:
    if isinstance(value, dict) and isinstance(value.get("uri"), str) and isinstance(value.get("cid"), str):
        return {"uri": value["uri"], "cid": value["cid"]}
    return None


def _parent_uri(item: Mapping[str, Any]) -> str | None:
    """The post this notification answers (a reply's parent) or quotes."""
    record = item.get("record") if isinstance(item.get("record"), dict) else {}
    assert isinstance(record, dict)
    reply = record.get("reply")
    parent = _ref(reply.get("parent")) if isinstance(reply, dict) else None
    if parent:
        return parent["uri"]
    embed = record.get("embed")
    quoted = embed.get("record") if isinstance(embed, dict) else None
    if isinstance(quoted, dict) and isinstance(quoted.get("record"), dict):  # recordWithMedia
        quoted = quoted["record"]
    found = _ref(quoted)
    if found:
        return found["uri"]
    subject = item.get("reasonSubject")
    return subject if isinstance(subject, str) and subject.startswith("at://") else None


def _said(exc: BaseException, secrets: Iterable[str] = ()) -> str:
    """What the service said, without `secrets`, JWTs or token parameters (whole, then cut short:
    never half a token)."""
    if isinstance(exc, RequestErrorBase) and exc.response is not None:
        content = exc.response.content
        if isinstance(content, XrpcError):
            text = f"{exc.response.status_code} {content.error}" + (
                f": {content.message}" if content.message else ""
            )
        else:
            text = f"HTTP {exc.response.status_code}"
    elif isinstance(exc, NetworkError):
        text = "no answer (" + type(exc.__cause__ or exc).__name__ + ")"
    else:
        text = type(exc).__name__
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return redact(_JWT.sub("[redacted]", text))[:300]


def _token_trouble(exc: BaseException) -> bool:
    """The session is no longer taken (any 401, or 400 `ExpiredToken`/`InvalidToken`)."""
    if isinstance(exc, LoginRequiredError):
        return True
    if not isinstance(exc, RequestErrorBase) or exc.response is None:
        return False
    content = exc.response.content
    return exc.response.status_code == 401 or (
        isinstance(content, XrpcError) and content.error in TOKEN_ERRORS
    )
