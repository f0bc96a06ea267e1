"""A Facebook Page through facebook-sdk's `GraphAPI` (see `connectors/graph.py` for the library's traps).

What a poll reads, in one request when nothing happened (the Page object with two expanded
edges): the Page's feed (its own posts and visitor posts, with each post's `updated_time`, which
Graph moves when someone comments) and the posts that tag the Page. A post's comments are read
only when its `updated_time` moved since it was last read, newest first, down to where they were
read before (`connectors/facebook_progress.py`), so a busy post costs requests for its new
comments only. Every `SWEEP_EVERY` the whole watch window (`TWOWAY_FACEBOOK_WATCH_DAYS`) is
listed, so a comment on a month-old post is found by polling too; the Page `feed` webhook
(`bot/intake/webhooks.py`) names such a post at once. See docs/connectors.md.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from connectors.base import (
    AmbiguousOutcome,
    CredentialField,
    Options,
    Page,
    PlatformSpec,
    PollOutcome,
    TransientError,
)
from connectors.facebook_progress import HINT_PREFIX, POST_PREFIX, SWEEP, TAGGED, PostProgress, Tail
from connectors.graph import (
    GONE_CODES,
    MALFORMED,
    Gone,
    Graph,
    Malformed,
    Pages,
    TooMuch,
    excerpt,
    fewer,
    items,
    maybe_time,
    next_args,
    parse_time,
)
from domain import AccountIdentity, Author, Mention, Platform, PostedReply, ReplyRules, in_thread

log = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=10)  # comments re-read before what was read, de-duplicated on insert
SETTLE = timedelta(minutes=3)  # a post active this close before its last read is read once more
HINT_PATIENCE = timedelta(minutes=10)  # a webhook hint whose comment no read found is then let go
# A hinted post Graph will not serve for now (a 5xx, a page too big even when small) is tried at
# every poll for this long: the hint may be the only pointer to a post outside the watch window.
UNREADABLE_PATIENCE = timedelta(days=1)
HINT_AT = "@"  # "hint:<post id>@<created_time>", then "#<comment id>" for a comment
HINT_COMMENT = "#"
SWEEP_EVERY = timedelta(minutes=30)
PAGE_SIZE = 100
TAG_PAGE_SIZE = 25
MAX_COMMENT_PAGES = 100  # per poll; past it the poll stops early and the next one resumes
POST_FIELDS = "id,message,created_time,updated_time,permalink_url,from"
TAG_FIELDS = "id,message,created_time,permalink_url,from"
COMMENT_FIELDS = "id,message,from,created_time,parent,permalink_url,attachment"


@dataclass
class _Poll:
    """One poll's running state."""

    now: datetime
    floor: datetime  # comments older than this are not read on posts never read before
    outcome: PollOutcome
    progress: Mapping[str, str]
    budget: int
    newest: datetime | None = None
    unread: int = 0  # posts left unread because the budget ran out
    read: int = 0
    gone: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # posts whose read failed for now (read next poll)
    hints: dict[str, list[str]] = field(default_factory=dict)  # post id -> its webhook hints' keys

    def saw(self, moment: datetime | None) -> None:
        if moment is not None and (self.newest is None or moment > self.newest):
            self.newest = moment


class FacebookConnector:
    """One Facebook Page, read and answered with its Page access token."""

    platform: Platform = "facebook"

    def __init__(
        self,
        *,
        base_url: str,
        version: str,
        timeout: float,
        page_id: str,
        page_token: str,
        lookback_days: int = 3,
        watch_days: int = 90,
        page_size: int = PAGE_SIZE,
        max_comment_pages: int = MAX_COMMENT_PAGES,
    ) -> None:
        self.page_id = page_id
        self.lookback = timedelta(days=lookback_days)
        self.watch = timedelta(days=max(watch_days, lookback_days))
        self.page_size = page_size
        self.max_comment_pages = max_comment_pages
        self.graph = Graph(
            base_url=base_url, version=version, timeout=timeout, token=page_token, who="Facebook"
        )

    # -- identity ------------------------------------------------------------------------

    def identify(self) -> AccountIdentity:
        # Code 100/803: no such object. For a typed-in Page ID that is a definite "no".
        body = self.graph.read(lambda: self.graph.get(self.page_id, fields="id,name"), refused={100, 803})
        try:
            page_id, name = body["id"], str(body.get("name") or "")
            if not isinstance(page_id, str) or not page_id:
                raise TypeError("no id")
        except MALFORMED as exc:
            raise TransientError("Graph sent a malformed answer for the Page") from exc
        return AccountIdentity(platform="facebook", external_id=page_id, handle=name, name=name)

    # -- reading -------------------------------------------------------------------------

    def fetch(
        self,
        cursor: str | None,
        now: datetime,
        outcome: PollOutcome,
        progress: Mapping[str, str] | None = None,
    ) -> Iterator[Page]:
        kept = dict(progress or {})
        previous = _cursor_time(cursor)
        poll = _Poll(
            now=now,
            floor=previous - OVERLAP if previous else now - self.lookback,
            outcome=outcome,
            progress=kept,
            budget=self.max_comment_pages,
            hints=hints_by_post(kept),
        )
        poll.saw(previous)
        last_sweep = maybe_time(kept.get(SWEEP))
        sweep = last_sweep is None or now - last_sweep >= SWEEP_EVERY
        posts, tagged = self._listing(poll, sweep)
        yield from self._tagged(poll, tagged)
        listed = {p["id"] for p in posts}
        for post_id, keys in poll.hints.items():
            if post_id not in listed:
                try:
                    post = self._post(post_id, poll)
                except TransientError as exc:  # Gone is answered inside: the post was deleted
                    outcome.partial = True
                    outcome.notes.append(
                        f"could not read post {post_id}, named by the webhook, this time: {exc}"
                    )
                    given_up = [k for k in keys if _hint_age(poll, k) > UNREADABLE_PATIENCE]
                    if given_up:
                        yield Page(mentions=(), progress=dict.fromkeys(given_up))
                    continue
                if post is not None:
                    posts.insert(0, post)
                    listed.add(post_id)
                else:
                    yield Page(mentions=(), progress=dict.fromkeys(keys))
        for post in posts:
            yield from self._post_pages(post, poll)
        if (poll.gone or poll.failed) and not poll.read:
            # Every post failing is our request or Graph at fault, not deleted posts: keep the
            # cursor where it was, so nothing is skipped for good.
            raise TransientError(f"Graph could not read the comments of any post ({outcome.notes[-1]})")
        if poll.unread or poll.failed or outcome.partial:
            outcome.partial = True
            if poll.unread:
                outcome.notes.append(
                    f"read {self.max_comment_pages} pages of comments; {poll.unread} posts continue next poll"
                )
            outcome.cursor = cursor  # posts not read yet must still be read from the old cursor
            return
        outcome.cursor = poll.newest.isoformat() if poll.newest else cursor
        if sweep:
            forgotten = {
                key: None
                for key, value in kept.items()
                if key.startswith(POST_PREFIX)
                and key.removeprefix(POST_PREFIX) not in listed
                and not ((PostProgress.load(value) or PostProgress()).tails)
            }
            yield Page(mentions=(), progress={**forgotten, SWEEP: now.isoformat()})

    def _listing(self, poll: _Poll, sweep: bool) -> tuple[list[dict[str, Any]], list[Any]]:
        """The Page's posts to consider (the watch window when sweeping) and the first tagged page."""
        since = f".since({int((poll.now - self.watch).timestamp())})" if sweep else ""
        size = self.page_size
        while True:
            fields = (
                f"feed{since}.limit({size}){{{POST_FIELDS}}},tagged.limit({TAG_PAGE_SIZE}){{{TAG_FIELDS}}}"
            )
            poll.outcome.requests += 1  # counted before the call: a refused request is still a request
            try:
                body = self.graph.read(partial(self.graph.get, self.page_id, fields=fields))
                break
            except TooMuch as exc:  # long posts: the same listing in smaller pages
                size = fewer(size, exc)
        if not isinstance(body, dict) or body.get("id") != self.page_id:
            raise TransientError("Graph sent a malformed Page (no id)")
        # Graph leaves an expanded edge out when it is empty.
        feed = body.get("feed") or {"data": []}
        tagged = body.get("tagged") or {"data": []}
        posts: list[dict[str, Any]] = []
        pages = Pages("posts")
        while True:
            chunk = items(feed)
            for post in chunk:
                if isinstance(post, dict) and isinstance(post.get("id"), str):
                    posts.append(post)
                else:
                    log.warning("skipped a Facebook post without an id")
            oldest = (
                maybe_time(chunk[-1].get("created_time")) if chunk and isinstance(chunk[-1], dict) else None
            )
            more = next_args(feed)
            stop = poll.floor if not sweep else poll.now - self.watch
            if more is None or (oldest is not None and oldest < stop):
                break
            # Graph is not documented to repeat an expanded edge's fields and `since` in `next`.
            args = pages.next({"fields": POST_FIELDS, "limit": str(size), **more})
            assert args is not None
            feed = self._further(f"{self.page_id}/feed", args, poll)
        return posts, [tagged]

    def _further(self, path: str, args: dict[str, str], poll: _Poll) -> Any:
        """A listing's next page, asked for again with fewer items while Graph finds it too big."""
        while True:
            poll.outcome.requests += 1  # counted before the call: a refused request is still a request
            try:
                return self.graph.read(partial(self.graph.get, path, **args))
            except TooMuch as exc:
                args = {**args, "limit": str(fewer(int(args.get("limit") or TAG_PAGE_SIZE), exc))}

    def _post(self, post_id: str, poll: _Poll) -> dict[str, Any] | None:
        """A post a webhook named, which the listing did not hold (older than the watch window)."""
        poll.outcome.requests += 1
        try:
            body = self.graph.read(lambda: self.graph.get(post_id, fields=POST_FIELDS), gone=GONE_CODES)
        except Gone as exc:
            poll.outcome.notes.append(f"skipped post {post_id} named by the webhook: {exc}")
            return None
        return body if isinstance(body, dict) and body.get("id") == post_id else None

    # -- posts that tag the Page ---------------------------------------------------------

    def _tagged(self, poll: _Poll, first: list[Any]) -> Iterator[Page]:
        read_to = maybe_time(poll.progress.get(TAGGED))
        stop = read_to - OVERLAP if read_to else poll.floor
        body: Any = first[0]
        pages = Pages("tagged posts")
        newest = read_to
        while True:
            mentions, skipped, reached_old = [], 0, False
            for item in items(body):
                created = maybe_time(item.get("created_time")) if isinstance(item, dict) else None
                if created is not None and created < stop:
                    reached_old = True
                    break
                try:
                    mention = self._post_mention(item, "tag")
                except (Malformed, *MALFORMED) as exc:
                    log.warning("skipped a post that tags the Page: %s", exc)
                    skipped += 1
                    continue
                if mention is not None:
                    mentions.append(mention)
                    newest = max(newest or mention.created_at, mention.created_at)
            done = reached_old or next_args(body) is None
            mark = {TAGGED: newest.isoformat()} if done and newest else {}
            yield Page(mentions=tuple(mentions), skipped=skipped, progress=mark)
            if done:
                return
            args = pages.next({"fields": TAG_FIELDS, "limit": str(TAG_PAGE_SIZE), **(next_args(body) or {})})
            assert args is not None
            body = self._further(f"{self.page_id}/tagged", args, poll)

    # -- one post and its comments -------------------------------------------------------

    def _post_pages(self, post: dict[str, Any], poll: _Poll) -> Iterator[Page]:
        key = POST_PREFIX + post["id"]
        hint_keys = poll.hints.get(post["id"], [])
        hinted = bool(hint_keys)
        state = PostProgress.load(poll.progress.get(key))
        created = maybe_time(post.get("created_time"))
        updated = maybe_time(post.get("updated_time")) or poll.now  # unknown: read it
        visitor = self._visitor_post(post, state, poll)
        fresh = hinted or state is None or self._moved(state, updated)  # new comments to read
        if not (fresh or (state is not None and state.tails)):
            if visitor:
                yield Page(mentions=tuple(visitor))
            return
        if state is None and not hinted and updated < poll.floor and (created or poll.now) < poll.floor:
            # Nothing happened on it since the first-poll window began: remember it without a read.
            yield Page(
                mentions=tuple(visitor), progress={key: PostProgress(seen=updated, read=poll.now).dump()}
            )
            return
        if poll.budget <= 0:
            poll.unread += 1
            if visitor:
                yield Page(mentions=tuple(visitor))
            return
        state = state or PostProgress()
        floor = poll.floor if state.head is None else state.head - OVERLAP
        if state.head is None and state.seen is not None:
            # Remembered (or read) when it had no comment to read: anything on it since then is
            # new, however far the Page's cursor has moved on since.
            floor = min(floor, state.seen - OVERLAP)
        read: set[str] = set()  # the ids of the comments read, which settle their webhook hints
        try:
            if fresh:
                pages = self._read_comments(post, state, poll, Tail("", floor), head=True, extra=visitor)
                yield from _noting(pages, read)
            elif visitor:
                yield Page(mentions=tuple(visitor))
            for tail in list(state.tails):
                if poll.budget <= 0:
                    break
                yield from _noting(self._read_comments(post, state, poll, tail, head=False), read)
        except Gone as exc:
            poll.gone.append(post["id"])
            poll.outcome.notes.append(f"skipped the comments of post {post['id']}: {exc}")
            return
        except TransientError as exc:
            if "kept paging" not in str(exc):
                # One post Graph cannot serve now (a 5xx, a page too big even when small)
                # must not keep the others' comments from staff; it is read again next poll.
                poll.failed.append(post["id"])
                poll.outcome.notes.append(f"could not read post {post['id']} this time: {exc}")
                return
            poll.outcome.notes.append(f"stopped reading post {post['id']}: {exc}")
        poll.read += 1
        state.seen, state.read = max(state.seen or updated, updated), poll.now
        done: dict[str, str | None] = {key: state.dump()}
        for hint_key in hint_keys:
            # Kept until a read finds the comment it announced (Graph may list it a little after
            # the delivery; two comments may share a second) or for HINT_PATIENCE; a delivery saved
            # during this poll has its own key. A hint of a post, or of an earlier release's
            # kind, is settled by a read reaching its time.
            wanted = _hint_time(poll.progress.get(hint_key))
            comment = hint_key.partition(HINT_COMMENT)[2]
            reached = comment in read if comment else bool(wanted and state.head and state.head >= wanted)
            if wanted is None or poll.now - wanted > HINT_PATIENCE or reached:
                done[hint_key] = None
        if poll.budget <= 0 and state.tails:
            poll.unread += 1
        yield Page(mentions=(), progress=done)

    @staticmethod
    def _moved(state: PostProgress, updated: datetime) -> bool:
        """Someone commented since the last read, or the last read came soon after activity
        (Graph can list a comment a little after it moved `updated_time`)."""
        if state.seen is None or state.read is None:
            return True
        return updated > state.seen or state.read - updated < SETTLE

    def _visitor_post(
        self, post: Mapping[str, Any], state: PostProgress | None, poll: _Poll
    ) -> list[Mention]:
        """A post someone else wrote on the Page is a mention itself, the first time it is seen."""
        author = post.get("from")
        if (
            state is not None
            or not isinstance(author, dict)
            or str(author.get("id") or "") in ("", self.page_id)
        ):
            return []
        created = maybe_time(post.get("created_time"))
        if created is None or created < poll.floor:
            return []
        try:
            mention = self._post_mention(post, "visitor_post")
        except (Malformed, *MALFORMED) as exc:
            log.warning("skipped a visitor post (id=%s): %s", post.get("id"), exc)
            return []
        poll.saw(created)
        return [mention] if mention else []

    def _read_comments(
        self,
        post: Mapping[str, Any],
        state: PostProgress,
        poll: _Poll,
        tail: Tail,
        *,
        head: bool,
        extra: list[Mention] | None = None,
    ) -> Iterator[Page]:
        """One read, newest first, until a comment older than `tail.floor`; each page is handed
        over with the post's progress as it stands after that page."""
        key = POST_PREFIX + post["id"]
        args: dict[str, str] | None = {
            "filter": "stream",
            "order": "reverse_chronological",
            "fields": COMMENT_FIELDS,
            "limit": str(self.page_size),
        }
        assert args is not None
        if tail.after:
            args["after"] = tail.after
        pages = Pages(f"comments of post {post['id']}")
        top: datetime | None = None
        read_before = state.head  # a head read re-reads at most one page below it (a storm's overlap)
        while args is not None:
            if poll.budget <= 0:
                return  # the progress saved with the last page says where to go on
            poll.budget -= 1
            poll.outcome.requests += 1
            try:
                body = self.graph.read(
                    partial(self.graph.get, f"{post['id']}/comments", **args), gone=GONE_CODES
                )
            except TooMuch as exc:
                # Long comments or heavy attachments: the same page, smaller (or the post fails
                # this poll, below, when it is small already).
                args = {**args, "limit": str(fewer(int(args["limit"]), exc))}
                continue
            except Gone:
                if head or not tail.after:
                    raise
                # Graph no longer knows the cursor: read that range again from the newest comment.
                tail.after = ""
                poll.outcome.notes.append(f"post {post['id']}: a saved cursor expired; reading again")
                yield Page(mentions=(), progress={key: state.dump()})
                return
            mentions, skipped, newest, reached_old = self._comment_page(body, post, tail.floor)
            oldest = (
                maybe_time(items(body)[-1].get("created_time"))
                if items(body) and isinstance(items(body)[-1], dict)
                else None
            )
            if head and read_before is not None and oldest is not None and oldest <= read_before:
                reached_old = True
            poll.saw(newest)
            if newest is not None and (top is None or newest > top):
                top = newest
            more = None if reached_old else pages.next(next_args(body))
            if head and top is not None and (state.head is None or top > state.head):
                state.head = top
            if tail in state.tails:
                state.tails.remove(tail)
            if more is not None:
                tail = Tail(more.get("after", ""), tail.floor)
                state.tails.append(tail)
                args = {**args, **more}
            else:
                args = None
            yield Page(
                mentions=tuple((extra or []) + mentions), skipped=skipped, progress={key: state.dump()}
            )
            extra = None

    def _comment_page(
        self, body: Any, post: Mapping[str, Any], floor: datetime
    ) -> tuple[list[Mention], int, datetime | None, bool]:
        mentions: list[Mention] = []
        skipped = 0
        newest: datetime | None = None
        for item in items(body):
            created = maybe_time(item.get("created_time") if isinstance(item, dict) else None)
            if created is not None and created < floor:
                return mentions, skipped, newest, True
            if created is not None and (newest is None or created > newest):
                newest = created
            try:
                mention = self._mention(item, post)
            except (Malformed, *MALFORMED) as exc:  # one odd field must not cost the whole page
                item_id = item.get("id") if isinstance(item, dict) else None
                log.warning(
                    "skipped a Facebook comment (id=%s) with a missing or malformed field: %s", item_id, exc
                )
                skipped += 1
                continue
            if mention is not None:
                mentions.append(mention)
        return mentions, skipped, newest, False

    # -- mapping -------------------------------------------------------------------------

    def _post_mention(self, item: Any, kind: str) -> Mention | None:
        """A visitor post, or someone's post that tags the Page."""
        _require_fields(item)
        author: Mapping[str, Any] = item["from"] if isinstance(item.get("from"), dict) else {}
        if not author and kind == "tag" and "_" in item["id"]:
            # Graph shows a user's post's `from` to its author only; the post id starts with theirs
            # (a visitor post's id starts with the Page's, so it is not read this way).
            author = {"id": item["id"].split("_", 1)[0]}
        author_id = str(author.get("id") or "")
        if author_id == self.page_id:
            return None
        return Mention(
            platform="facebook",
            external_id=item["id"],
            account_external_id=self.page_id,
            author=_author(author),
            text=item.get("message") or "",
            url=_permalink(item),
            created_at=parse_time(item["created_time"]),
            conversation_id=item["id"],
            explicit_mention=True,
            raw={"post": item, "kind": kind},
        )

    def _mention(self, item: Any, post: Mapping[str, Any]) -> Mention | None:
        _require_fields(item)
        author: Mapping[str, Any] = item["from"] if isinstance(item.get("from"), dict) else {}
        if str(author.get("id") or "") == self.page_id:
            return None  # the Page's own comment or reply
        try:
            created_at = parse_time(item["created_time"])
        except MALFORMED as exc:
            raise Malformed("created_time is not a time with an offset") from exc
        parent: Mapping[str, Any] | None = item["parent"] if isinstance(item.get("parent"), dict) else None
        post_text = post.get("message") if isinstance(post.get("message"), str) else None
        if parent is not None and isinstance(parent.get("id"), str):
            parent_id = parent["id"]
            parent_text = parent.get("message") if isinstance(parent.get("message"), str) else post_text
        else:
            parent_id, parent_text = post["id"], post_text
        return Mention(
            platform="facebook",
            external_id=item["id"],
            account_external_id=self.page_id,
            author=_author(author),
            text=item.get("message") or "",
            url=_permalink(item),
            created_at=created_at,
            conversation_id=post["id"],
            parent_id=parent_id,
            parent_text=excerpt(parent_text) if parent_text else None,
            explicit_mention=True,  # a Page may always answer comments on its own posts
            raw={
                "comment": item,
                "post": {k: post[k] for k in ("id", "message", "permalink_url") if k in post},
            },
        )

    # -- writing -------------------------------------------------------------------------

    def reply(self, mention: Mention, text: str) -> PostedReply:
        # Facebook threads are one level deep (a reply comment has can_comment=false): an answer
        # to a reply goes to its top-level comment, where the Facebook UI would put it too.
        nested = in_thread(mention.parent_id, mention.conversation_id or mention.external_id)
        target = mention.parent_id if nested and mention.parent_id else mention.external_id
        body = self.graph.write(lambda: self.graph.api.put_comment(target, message=text))
        try:
            reply_id = body["id"]
            if not isinstance(reply_id, str) or not reply_id:
                raise TypeError("no id")
        except MALFORMED as exc:
            raise AmbiguousOutcome("Graph accepted the reply but its answer was unreadable") from exc
        return PostedReply(external_id=reply_id, url=f"https://www.facebook.com/{reply_id}")

    def like(self, mention: Mention) -> None:
        body = self.graph.write(lambda: self.graph.api.put_like(mention.external_id))
        if not (isinstance(body, dict) and body.get("success") is True):
            raise AmbiguousOutcome("Graph did not confirm the like")

    def hide(self, mention: Mention) -> None:
        body = self.graph.write(lambda: self.graph.post(mention.external_id, is_hidden="true"))
        if not (isinstance(body, dict) and body.get("success") is True):
            raise AmbiguousOutcome("Graph did not confirm that the comment is hidden")


def webhook_progress(entry: Mapping[str, Any]) -> dict[str, str]:
    """The posts a Page `feed` webhook entry says have new comments (or are new visitor posts).

    The delivery is only a pointer: the next poll reads the post itself (its permalink, the parent
    comment, everything a card shows), so a forged or replayed delivery can at most cost a read.
    """
    hints: dict[str, str] = {}
    changes = entry.get("changes")
    for change in changes if isinstance(changes, list) else []:
        value = change.get("value") if isinstance(change, dict) else None
        if not isinstance(value, dict) or change.get("field") != "feed":
            continue
        if value.get("item") not in ("comment", "post", "status", "photo", "video", "share"):
            continue
        post_id = value.get("post_id")
        if isinstance(post_id, str) and post_id.replace("_", "").isdigit() and len(post_id) < 100:
            stamp = value.get("created_time")
            when = str(stamp) if isinstance(stamp, int | str) and len(str(stamp)) < 40 else ""
            comment = value.get("comment_id") if value.get("item") == "comment" else None
            named = (
                f"{HINT_COMMENT}{comment}"
                if isinstance(comment, str) and comment.replace("_", "").isdigit() and len(comment) < 40
                else ""
            )
            # One key per delivery (per comment): a poll clears only the hints it read, never one
            # saved meanwhile, nor one of two comments made in the same second.
            hints[f"{HINT_PREFIX}{post_id}{HINT_AT}{''.join(c for c in when if c.isalnum())}{named}"] = when
    return hints


def hints_by_post(kept: Mapping[str, str]) -> dict[str, list[str]]:
    """The webhook hints kept, by post (keys "hint:<post>" of earlier releases too)."""
    found: dict[str, list[str]] = {}
    for key in kept:
        if key.startswith(HINT_PREFIX):
            found.setdefault(key.removeprefix(HINT_PREFIX).split(HINT_AT)[0], []).append(key)
    return found


def _noting(pages: Iterator[Page], read: set[str]) -> Iterator[Page]:
    """`pages` as they come, noting the ids of the comments on them in `read`."""
    for page in pages:
        read.update(m.external_id for m in page.mentions)
        yield page


def _hint_age(poll: _Poll, key: str) -> timedelta:
    wanted = _hint_time(poll.progress.get(key))
    return poll.now - wanted if wanted else UNREADABLE_PATIENCE * 2


def _hint_time(value: str | None) -> datetime | None:
    """A delivery's created_time: Unix seconds, as Graph sends it, or ISO 8601."""
    if value and value.isdigit() and len(value) <= 12:
        return datetime.fromtimestamp(int(value), UTC)
    return maybe_time(value)


def _author(author: Mapping[str, Any]) -> Author:
    author_id = str(author.get("id") or "")
    return Author(
        id=author_id or "unknown",
        name=str(author.get("name") or ""),
        url=f"https://www.facebook.com/{author_id}" if author_id else "",
    )


def _cursor_time(cursor: str | None) -> datetime | None:
    if not cursor:
        return None
    try:
        return parse_time(cursor)
    except MALFORMED:
        log.warning("ignored an unreadable Facebook cursor; reading the look-back window instead")
        return None


# -- the platform as the rest of TwoWay sees it ------------------------------------------------

PAGE_FIELDS = (
    CredentialField(
        "page_id",
        "Page ID",
        "Your Page > About > Page transparency, or Meta Business Suite settings",
        "FACEBOOK_PAGE_ID",
        digits=True,
    ),
    CredentialField(
        "page_token",
        "Page access token",
        "A long-lived Page token with pages_read_engagement, pages_read_user_content and"
        " pages_manage_engagement",
        "FACEBOOK_PAGE_TOKEN",
    ),
)


def _incomplete(creds: Mapping[str, str]) -> str | None:
    missing = [f.key for f in PAGE_FIELDS if f.key not in creds]
    return f"Facebook credentials are incomplete: {' and '.join(missing)} missing" if missing else None


def build(options: Options, creds: Mapping[str, str], identity: AccountIdentity | None) -> FacebookConnector:
    return FacebookConnector(
        base_url=options["FACEBOOK_GRAPH_URL"],
        version=options["FACEBOOK_GRAPH_VERSION"],
        timeout=options["TWOWAY_HTTP_TIMEOUT"],
        page_id=creds["page_id"],
        page_token=creds["page_token"],
        lookback_days=options["TWOWAY_FACEBOOK_LOOKBACK_DAYS"],
        watch_days=options["TWOWAY_FACEBOOK_WATCH_DAYS"],
        page_size=PAGE_SIZE,
        max_comment_pages=MAX_COMMENT_PAGES,
    )


SPEC = PlatformSpec(
    name="facebook",
    title="Facebook",
    noun="a Facebook Page",
    rules=ReplyRules(limit=8000, handle_prefix="", address_in_thread=True),
    fields=PAGE_FIELDS,
    build=build,
    intro="Paste the Page's id and a Page access token (Meta for Developers > Graph API Explorer"
    " or Business settings > System users). TwoWay checks them with Facebook before saving and stores"
    " them encrypted; they are never shown again.",
    refused="Facebook refused this token (expired or revoked?). Create a new Page access token.",
    env_groups=(
        ("FACEBOOK_PAGE_ID", "FACEBOOK_PAGE_TOKEN"),
        ("FACEBOOK_APP_SECRET", "FACEBOOK_VERIFY_TOKEN"),
    ),
    env_triggers=("FACEBOOK_PAGE_ID",),
    incomplete=_incomplete,
    pinned="page_id",
    pinned_mismatch="This token belongs to a different Page. Check the Page ID.",
    gone="Facebook did not accept this Page ID with this token. Check both.",
    handle_prefix="",
    can_hide=True,
    webhook_object="page",
    webhook_progress=webhook_progress,
    permissions="pages_read_engagement, pages_read_user_content, pages_manage_engagement",
)


def _require_fields(item: Any) -> None:
    """A post or comment TwoWay can card: an object with an id and a creation time. A comment
    that is only a photo, a sticker or a GIF (its `attachment`), or a visitor's photo posted
    without a caption, has no `message`, or an empty one: it is still somebody talking to the
    Page, and staff see it through its link."""
    if not isinstance(item, dict):
        raise Malformed("not an object")
    for key in ("id", "created_time"):
        if not isinstance(item.get(key), str) or not item[key]:
            raise Malformed(f"{key} missing")
    if not isinstance(item.get("message", ""), str):
        raise Malformed("message is not text")


def _permalink(item: Mapping[str, Any]) -> str:
    permalink = item.get("permalink_url")
    return permalink if isinstance(permalink, str) and permalink else f"https://www.facebook.com/{item['id']}"
