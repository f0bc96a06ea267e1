"""A Threads profile through the Threads Graph API: mentions, replies to its posts, replying, hiding.

No maintained Python SDK for Threads exists and facebook-sdk cannot reach a second host without
sending the Facebook calls there too, so `connectors/threads_api.py` is a thin client on
`requests`. Threads has no count of replies on a post, so a poll reads the mentions, the
profile's recent posts (with `has_replies`), and the conversation of each post that has replies
and is either young (2 days) or due for the 30-minute sweep of the watch window: an idle poll of
a profile with no young post costs two requests. The long-lived token is refreshed before it
expires (`connectors/threads_token.py`). Threads offers no like through the API.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import chain
from typing import Any

from connectors.base import (
    AmbiguousOutcome,
    CredentialField,
    Options,
    Page,
    PlatformSpec,
    PollOutcome,
    Rejected,
    SessionSaver,
    TransientError,
    saved_state,
)
from connectors.graph import MALFORMED, Gone, Malformed, Pages, excerpt, items, maybe_time, parse_time
from connectors.threads_api import ThreadsApi, ref_id, text_of
from connectors.threads_token import TokenKeeper
from domain import AccountIdentity, Author, Mention, Platform, PostedReply, ReplyRules

log = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=10)  # Threads can list an item a little late: re-read this much
FIRST_POLL = timedelta(days=3)
HOT = timedelta(days=2)  # posts this young have their replies read at every poll
WATCH = timedelta(days=30)  # older posts' replies are read by the sweep only while this young
SWEEP_EVERY = timedelta(minutes=30)
PAGE = 50
MENTION_FIELDS = "id,text,username,timestamp,permalink,media_type,is_reply,root_post,replied_to"
POST_FIELDS = "id,text,timestamp,permalink,has_replies"
REPLY_FIELDS = "id,text,username,timestamp,permalink,root_post,replied_to,hide_status"
OWN_REPLY_FIELDS = "id,text,timestamp,root_post,has_replies"
# progress: {"h": newest reply read, "r": when read, "t": unread stretches, "f": floor of a first read}
POST_PREFIX = "post:"
ANSWERED_PREFIX = "answered:"  # the profile's own reply elsewhere: {"h": newest answer read}
SWEEP_KEY = "sweep"
CONTAINER_WAIT = 2.0  # seconds a reply's container may take to be ready before publishing
MAX_REPLY_PAGES = 40  # conversation pages a poll reads; past them the read resumes at the next poll
MAX_LIST_PAGES = 50  # pages of one listing (the mentions, the posts) in a poll


class Budget:
    """The conversation pages left in this poll, and whether some reading was put off."""

    def __init__(self, pages: int) -> None:
        self.left = pages
        self.short = False


@dataclass
class _Round:
    """What one poll's reading of replies shares: its times, progress, page budget, and the ids of
    the profile's posts listed (whose conversations are read whole)."""

    user_id: str
    now: datetime
    floor: datetime
    kept: Mapping[str, str]
    sweeping: bool
    outcome: PollOutcome
    budget: Budget
    roots: set[str] = field(default_factory=set)


class Reading:
    """Where one read of a conversation stopped (`after`: a page was left), its newest reply, and
    whether Threads no longer has the post (`gone`)."""

    def __init__(self) -> None:
        self.after: str | None = None
        self.newest: datetime | None = None
        self.gone = False


def _tails(state: Mapping[str, Any] | None) -> list[list[str]]:
    """The stretches of a conversation left unread: [cursor of the next page, oldest time to read]."""
    kept = state.get("t") if state else None
    if not isinstance(kept, list):
        return []
    return [
        list(t) for t in kept if isinstance(t, list) and len(t) == 2 and all(isinstance(x, str) for x in t)
    ]


def _state(head: datetime | None, now: datetime, tails: list[list[str]]) -> str:
    saved: dict[str, Any] = {"h": head.isoformat() if head else None, "r": now.isoformat()}
    if tails:
        saved["t"] = tails
    return json.dumps(saved)


class ThreadsConnector:
    """One Threads profile and its long-lived token."""

    platform: Platform = "threads"

    def __init__(
        self,
        *,
        base_url: str,
        timeout: float,
        token: str,
        user_id: str | None = None,
        max_reply_pages: int = MAX_REPLY_PAGES,
    ) -> None:
        self.user_id = user_id
        self.max_reply_pages = max_reply_pages
        self.username = ""
        self.api = ThreadsApi(base_url=base_url, timeout=timeout, token=token)
        self.keeper = TokenKeeper(self.api, token)

    # -- the kept token (KeepsSession) -----------------------------------------------------------

    def restore(self, saved: str) -> None:
        self.keeper.restore(saved)

    def keep(self, saver: SessionSaver) -> None:
        self.keeper.saver = saver

    def saved(self) -> str | None:
        return self.keeper.dump()

    # -- identity -------------------------------------------------------------------------------

    def identify(self) -> AccountIdentity:
        who = self.user_id or "me"
        try:
            body = self.api.read(lambda: self.api.get(who, fields="id,username,name"), gone=True)
        except Gone as exc:
            raise Rejected(f"Threads has no profile {who} for this token ({exc})") from None
        try:
            user_id, username = body["id"], body["username"]
            if not isinstance(user_id, str) or not isinstance(username, str) or not username:
                raise TypeError("id or username")
        except MALFORMED as exc:
            raise TransientError("Threads sent a malformed profile") from exc
        self.user_id, self.username = user_id, username
        return AccountIdentity("threads", user_id, username, str(body.get("name") or username))

    def _me(self) -> str:
        if not self.user_id or not self.username:
            self.identify()
        assert self.user_id is not None
        return self.user_id

    # -- reading ----------------------------------------------------------------------------------

    def fetch(
        self,
        cursor: str | None,
        now: datetime,
        outcome: PollOutcome,
        progress: Mapping[str, str] | None = None,
    ) -> Iterator[Page]:
        start = self.api.sent
        try:
            self.keeper.refresh_if_due(now)
            outcome.attention = self.keeper.attention(now)
            user_id = self._me()
            kept = progress or {}
            previous = maybe_time(cursor)
            floor = previous - OVERLAP if previous else now - FIRST_POLL
            newest = previous
            sweep = maybe_time(kept.get(SWEEP_KEY))
            sweeping = sweep is None or now - sweep >= SWEEP_EVERY
            # Replies first: a reply that also @mentions the profile is then kept as a reply,
            # which the profile may hide.
            budget = Budget(self.max_reply_pages)
            poll = _Round(user_id, now, floor, kept, sweeping, outcome, budget)
            # Lazily, page by page: the answers are read after the posts, whose ids they need.
            for page, seen in chain(self._replies(poll), self._answers(poll)):
                newest = seen if seen and (newest is None or seen > newest) else newest
                yield page
            for page, seen in self._mentions(user_id, floor, outcome):
                newest = seen if seen and (newest is None or seen > newest) else newest
                yield page
            if budget.short:
                outcome.notes.append(
                    f"read {self.max_reply_pages} pages of Threads replies; the rest continue next poll"
                )
            elif sweeping:
                # A sweep cut short by the page budget goes on at the next poll.
                yield Page(mentions=(), progress={SWEEP_KEY: now.isoformat()})
            outcome.cursor = newest.isoformat() if newest else cursor
        finally:
            outcome.requests += self.api.sent - start

    def _list(
        self, path: str, fields: str, after: str | None = None, **extra: str
    ) -> Iterator[tuple[list[Any], str | None]]:
        """Pages of an edge, newest first, each with the cursor of the page after it (None on the
        last), until the caller stops; a page Threads repeats raises `TransientError`."""
        first = {"fields": fields, "limit": str(PAGE), **extra}
        args: dict[str, str] | None = {**first, "after": after} if after else first
        pages = Pages(path, limit=MAX_LIST_PAGES, platform="Threads")
        while args is not None:
            current = args
            body = self.api.read(
                lambda current=current: self.api.get(path, **current),  # type: ignore[misc]
                gone=path.endswith("conversation"),
            )
            batch = items(body)
            paging = body.get("paging")
            cursors = paging.get("cursors") if isinstance(paging, dict) else None
            following = cursors.get("after") if isinstance(cursors, dict) else None
            more = bool(
                isinstance(paging, dict) and paging.get("next") and isinstance(following, str) and batch
            )
            yield batch, str(following) if more else None
            args = pages.next({**current, "after": str(following)}) if more else None

    def _mentions(
        self, user_id: str, floor: datetime, outcome: PollOutcome
    ) -> Iterator[tuple[Page, datetime | None]]:
        try:
            for batch, _after in self._list(f"{user_id}/mentions", MENTION_FIELDS):
                mentions, skipped, newest, old = self._page(batch, floor, kind="mention")
                yield Page(mentions=tuple(mentions), skipped=skipped), newest
                if old:
                    return
        except TransientError as exc:
            if "kept paging" not in str(exc):
                raise
            # The newest mentions are in; failing every poll would stop all intake for good.
            outcome.notes.append(f"stopped reading the Threads mentions early: {exc}")

    def _replies(self, poll: _Round) -> Iterator[tuple[Page, datetime | None]]:
        """Each due post's new replies (its head), then the older stretches that an earlier poll
        had no pages left for (its tails): a post with thousands of new replies is read over
        several polls, while the other posts and the mentions are still read at every one. The
        posts listed go into `roots`: their whole conversations are read here."""
        user_id, now, floor, kept = poll.user_id, poll.now, poll.floor, poll.kept
        sweeping, outcome, budget, roots = poll.sweeping, poll.outcome, poll.budget, poll.roots
        posts: list[dict[str, Any]] = []
        for batch, _after in self._list(f"{user_id}/threads", POST_FIELDS):
            fresh = [p for p in batch if isinstance(p, dict) and isinstance(p.get("id"), str)]
            posts += fresh
            roots.update(p["id"] for p in fresh)
            oldest = maybe_time(fresh[-1].get("timestamp")) if fresh else None
            if not fresh or oldest is None or oldest < now - WATCH:
                break
        behind: list[tuple[dict[str, Any], datetime | None, list[list[str]]]] = []
        for post in posts:
            posted = maybe_time(post.get("timestamp"))
            if post.get("has_replies") is not True or posted is None or posted < now - WATCH:
                continue
            key = POST_PREFIX + post["id"]
            state = saved_state(kept.get(key))
            tails = _tails(state)
            due = sweeping or state is None or now - posted <= HOT
            if not (due or tails):
                continue
            head = maybe_time(state.get("h")) if state else None
            if due:
                # A post never read goes down to where the poll that first found it began.
                stop = head - OVERLAP if head else maybe_time((state or {}).get("f")) or floor
                if budget.left <= 0:
                    budget.short = True
                    if head is None and not tails:
                        yield Page(mentions=(), progress={key: json.dumps({"f": stop.isoformat()})}), None
                    continue
                reading = Reading()
                yield from self._stretch(post, None, stop, budget, reading, outcome)
                if reading.gone:
                    continue
                if reading.after:
                    tails.insert(0, [reading.after, stop.isoformat()])
                if reading.newest and (head is None or reading.newest > head):
                    head = reading.newest
                yield Page(mentions=(), progress={key: _state(head, now, tails)}), None
            if tails:
                behind.append((post, head, tails))
        for post, head, tails in behind:
            left: list[list[str]] = []
            for after, below in tails:
                stop_at = maybe_time(below)
                if budget.left <= 0 or stop_at is None:
                    left += [[after, below]] if stop_at else []
                    continue
                reading = Reading()
                yield from self._stretch(post, after, stop_at, budget, reading, outcome)
                if reading.gone:
                    left = []
                    break
                if reading.after:
                    left.append([reading.after, below])
            yield Page(mentions=(), progress={POST_PREFIX + post["id"]: _state(head, now, left)}), None
            budget.short = budget.short or bool(left)

    def _answers(self, poll: _Round) -> Iterator[tuple[Page, datetime | None]]:
        """Answers to the profile's own replies in other people's threads: Threads tags nobody in a
        reply, so a resident answering the agency's reply under their own post is neither a
        mention nor in a conversation of the profile's posts. Read like a post's replies (the
        young ones at every poll, the rest by the sweep), direct answers only, newest first."""
        own: list[dict[str, Any]] = []
        # An agency that answers a lot has many replies: between sweeps only the young are listed.
        back_to = poll.now - (WATCH if poll.sweeping else HOT)
        for batch, _after in self._list(f"{poll.user_id}/replies", OWN_REPLY_FIELDS):
            fresh = [r for r in batch if isinstance(r, dict) and isinstance(r.get("id"), str)]
            own += fresh
            oldest = maybe_time(fresh[-1].get("timestamp")) if fresh else None
            if not fresh or oldest is None or oldest < back_to:
                break
        for reply in own:
            posted = maybe_time(reply.get("timestamp"))
            if reply.get("has_replies") is not True or posted is None or posted < poll.now - WATCH:
                continue
            if ref_id(reply.get("root_post")) in poll.roots:
                continue  # under the profile's own post: its conversation is read whole
            key = ANSWERED_PREFIX + reply["id"]
            state = saved_state(poll.kept.get(key))
            if not (poll.sweeping or state is None or poll.now - posted <= HOT):
                continue
            if poll.budget.left <= 0:
                poll.budget.short = True
                continue
            head = maybe_time(state.get("h")) if state else None
            reading = Reading()
            stop = head - OVERLAP if head else poll.floor
            yield from self._stretch(reply, None, stop, poll.budget, reading, poll.outcome, edge="replies")
            if reading.gone:
                continue
            if reading.after:  # cut short by the page budget: read again from the old head
                poll.budget.short = True
                continue
            if reading.newest and (head is None or reading.newest > head):
                head = reading.newest
            # Nothing newer than `stop` yet: the next read starts where this one had to.
            yield Page(mentions=(), progress={key: _state(head or stop + OVERLAP, poll.now, [])}), None

    def _stretch(
        self,
        post: Mapping[str, Any],
        after: str | None,
        stop: datetime,
        budget: Budget,
        reading: Reading,
        outcome: PollOutcome,
        edge: str = "conversation",
    ) -> Iterator[tuple[Page, datetime | None]]:
        """One read of a conversation (or of a reply's direct answers, `edge="replies"`), newest
        first from `after`, down to `stop` or until the poll's pages run out; `reading` says where
        it stopped (`after`) and the newest reply seen."""
        listing = self._list(f"{post['id']}/{edge}", REPLY_FIELDS, after=after, reverse="true")
        kind = "reply" if edge == "conversation" else "mention"  # only the profile's threads can be hidden
        try:
            for batch, following in listing:
                budget.left -= 1
                mentions, skipped, newest, old = self._page(batch, stop, kind=kind, post=post)
                if newest and (reading.newest is None or newest > reading.newest):
                    reading.newest = newest
                yield Page(mentions=tuple(mentions), skipped=skipped), newest
                if old or following is None:
                    return
                if budget.left <= 0:
                    reading.after = following
                    return
        except Gone as exc:
            reading.gone = True
            outcome.notes.append(f"skipped the replies of Threads post {post['id']}: {exc}")
        except TransientError as exc:
            if "kept paging" not in str(exc):
                raise
            log.warning("stopped reading the replies of Threads post %s: %s", post["id"], exc)

    def _page(
        self, batch: list[Any], stop: datetime, *, kind: str, post: Mapping[str, Any] | None = None
    ) -> tuple[list[Mention], int, datetime | None, bool]:
        mentions: list[Mention] = []
        skipped, newest, reached_old = 0, None, False
        texts = {
            r["id"]: r.get("text") for r in batch if isinstance(r, dict) and isinstance(r.get("id"), str)
        }
        if post is not None:
            texts[post["id"]] = post.get("text")
        for item in batch:
            created = maybe_time(item.get("timestamp")) if isinstance(item, dict) else None
            if created is not None and created < stop:
                reached_old = True
                break
            if created is not None and (newest is None or created > newest):
                newest = created
            try:
                mention = self._mention(item, kind, texts)
            except (Malformed, *MALFORMED) as exc:
                log.warning("skipped a Threads item with a missing or malformed field: %s", exc)
                skipped += 1
                continue
            if mention is not None:
                mentions.append(mention)
        return mentions, skipped, newest, reached_old

    def _mention(self, item: Any, kind: str, texts: Mapping[str, Any]) -> Mention | None:
        if not isinstance(item, dict):
            raise Malformed("not an object")
        for key in ("id", "timestamp"):
            if not isinstance(item.get(key), str) or not item[key]:
                raise Malformed(f"{key} missing")
        # A photo or video reply may have no `text`, and Threads names only public users, the
        # profile itself and those it follows (`username`): neither makes a reply less of one.
        text, username = item.get("text"), text_of(item.get("username")) or ""
        if text is not None and not isinstance(text, str):
            raise Malformed("text is not text")
        if username and username == self.username:
            return None  # the profile's own post or reply
        parent = ref_id(item.get("replied_to"))
        root = ref_id(item.get("root_post"))
        parent_text = text_of(texts.get(parent)) if parent else None
        permalink = text_of(item.get("permalink"))
        return Mention(
            platform="threads",
            external_id=item["id"],
            account_external_id=self.user_id or "",
            author=Author(
                id=username or "unknown",
                handle=username,
                url=f"https://www.threads.net/@{username}" if username else "",
            ),
            text=text or "",
            url=permalink or (f"https://www.threads.net/@{username}" if username else ""),
            created_at=parse_time(item["timestamp"]),
            conversation_id=root or item["id"],
            parent_id=parent,
            parent_text=excerpt(parent_text) if parent_text else None,
            explicit_mention=True,
            raw={"kind": kind, "item": item},
        )

    # -- writing ------------------------------------------------------------------------------------

    def reply(self, mention: Mention, text: str) -> PostedReply:
        """Create a reply container, wait until Threads has it ready, then publish it."""
        user_id = self.user_id or "me"
        created = self.api.write(
            lambda: self.api.post(
                f"{user_id}/threads", media_type="TEXT", text=text, reply_to_id=mention.external_id
            ),
            published=False,
        )
        container = created.get("id")
        if not isinstance(container, str) or not container:
            raise Rejected("Threads did not say which reply it prepared; nothing was posted")
        self._wait_ready(container)
        body = self.api.write(lambda: self.api.post(f"{user_id}/threads_publish", creation_id=container))
        reply_id = body.get("id")
        if not isinstance(reply_id, str) or not reply_id:
            raise AmbiguousOutcome("Threads accepted the reply but its answer was unreadable")
        url = mention.url
        try:
            found = self.api.read(lambda: self.api.get(reply_id, fields="permalink"))
            url = text_of(found.get("permalink")) or url
        except Exception:  # the reply is out; its link is a nicety
            log.info("Threads reply %s posted; its permalink could not be read", reply_id)
        return PostedReply(external_id=reply_id, url=url)

    def _wait_ready(self, container: str) -> None:
        """Meta advises publishing only a finished container; text is usually ready at once."""
        deadline = time.monotonic() + CONTAINER_WAIT
        pause = 0.25
        while True:
            body = self.api.write(
                lambda: self.api.get(container, fields="status,error_message"), published=False
            )
            status = body.get("status")
            if status in ("FINISHED", None):
                return
            if status in ("ERROR", "EXPIRED", "PUBLISHED"):
                why = text_of(body.get("error_message")) or str(status).lower()
                raise Rejected(f"Threads could not prepare the reply ({why}); nothing was posted")
            if time.monotonic() + pause > deadline:
                raise Rejected("Threads was still preparing the reply; nothing was posted, try again")
            time.sleep(pause)
            pause *= 2

    def like(self, mention: Mention) -> None:
        raise Rejected("Threads offers no way for an app to like a post")

    def hide(self, mention: Mention) -> None:
        if mention.raw.get("kind") != "reply":
            raise Rejected("Threads lets an account hide replies to its own posts only")
        body = self.api.write(lambda: self.api.post(f"{mention.external_id}/manage_reply", hide="true"))
        if body.get("success") is not True:
            raise AmbiguousOutcome("Threads did not confirm that the reply is hidden")


# -- the platform as the rest of TwoWay sees it ------------------------------------------------


def build(options: Options, creds: Mapping[str, str], identity: AccountIdentity | None) -> ThreadsConnector:
    connector = ThreadsConnector(
        base_url=options["THREADS_API_URL"],
        timeout=options["TWOWAY_HTTP_TIMEOUT"],
        token=creds["token"],
        user_id=(identity.external_id if identity else None) or creds.get("user_id"),
    )
    if identity is not None:
        connector.username = identity.handle
    return connector


def _incomplete(creds: Mapping[str, str]) -> str | None:
    return None if creds.get("token") else "Threads needs a long-lived access token"


SPEC = PlatformSpec(
    name="threads",
    title="Threads",
    noun="a Threads profile",
    rules=ReplyRules(limit=500, counting="emoji_bytes", unit_hint=" (an emoji counts as its UTF-8 bytes)"),
    fields=(
        CredentialField(
            "token",
            "Long-lived access token",
            "A Threads user token (60 days) with threads_basic, threads_read_replies,"
            " threads_manage_replies, threads_manage_mentions and threads_content_publish",
            "THREADS_TOKEN",
        ),
        CredentialField(
            "user_id",
            "Threads user ID (optional)",
            "Leave empty to use the profile the token belongs to",
            "THREADS_USER_ID",
            optional=True,
            digits=True,
        ),
    ),
    build=build,
    intro="Paste a long-lived access token of your agency's Threads profile (from your Meta app's Threads"
    " use case). TwoWay checks it with Threads before saving, stores it encrypted and refreshes it before"
    " it expires; it is never shown again.",
    refused="Threads refused this token (expired, revoked, or a short-lived one?). Create a new long-lived token.",
    env_groups=(("THREADS_USER_ID", "THREADS_TOKEN"),),
    env_triggers=("THREADS_TOKEN",),
    incomplete=_incomplete,
    pinned="user_id",
    pinned_mismatch="This token belongs to another Threads profile than that user id.",
    gone="Threads has no profile with that user id.",
    can_like=False,
    can_hide=True,
    hideable=lambda raw: raw.get("kind") == "reply",  # replies to the profile's own posts only
    permissions="threads_basic, threads_read_replies, threads_manage_replies, threads_manage_mentions,"
    " threads_content_publish",
)
