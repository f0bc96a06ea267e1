"""An Instagram professional account through the Instagram Graph API, with the connected Page's token.

The endpoints live on the Facebook Graph host and take the same Page token, so facebook-sdk's
`GraphAPI.request` reaches them (`connectors/graph.py`). The account is the Page's
`instagram_business_account`, or the one pinned with INSTAGRAM_ACCOUNT_ID. A poll lists the
account's recent media in one request, with each media's `comments_count` (which counts replies
too). Graph lists a media's top-level comments newest first with their replies expanded, and has
no "updated" time for a media or a comment, so a new reply can sit under an old comment anywhere
in the list. A media whose count grew is read newest first until as many new comments and replies
as the count grew by are found and the comments are older than the last read, else to its end; a
media whose count did not move is read whole by the sweep (`SWEEP_EVERY`, media younger than
`SWEEP_WATCH`), which finds a comment added while another was deleted. A comment's replies are a
paged edge of their own: only their first page comes inline, and a thread with more is read on
with `GET /{comment}/replies` before the next page of comments. Comment and reply pages are
budgeted per poll (`MAX_COMMENT_PAGES`): a read cut short resumes at its saved cursors. An idle
account costs one request between sweeps. Instagram offers no like of a comment through the API.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from connectors.base import (
    AmbiguousOutcome,
    CredentialField,
    Options,
    Page,
    PlatformSpec,
    PollOutcome,
    Rejected,
    TransientError,
    saved_state,
)
from connectors.facebook import PAGE_FIELDS
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

OVERLAP = timedelta(minutes=10)  # comments re-read before the newest read, de-duplicated on insert
SWEEP_EVERY = timedelta(minutes=30)  # a young media with comments is read whole this often
SWEEP_WATCH = timedelta(days=7)  # media this young are swept (capped by the watch window)
MEDIA_PAGE = 50
COMMENT_PAGE = 50
MAX_COMMENT_PAGES = 50  # per poll; past it the poll stops early and the next one resumes
MEDIA_FIELDS = "id,caption,timestamp,permalink,comments_count"
REPLY_FIELDS = "id,text,timestamp,username,from,hidden"
COMMENT_FIELDS = f"id,text,timestamp,username,from,hidden,replies{{{REPLY_FIELDS}}}"
# progress: {"n": comments_count when last read, "h": newest comment time seen, "s": when last read
# to its end (the sweep's clock), "r": a read cut short by the page budget, see `_Read.dump`}
MEDIA_PREFIX = "media:"


@dataclass
class _Poll:
    """One poll's running state."""

    now: datetime
    floor: datetime  # comments older than this are not read on media never read before
    outcome: PollOutcome
    budget: int  # comment and reply pages this poll may still read
    newest: datetime | None = None
    cut: int = 0  # media whose read the budget cut short or left for the next poll

    def saw(self, moment: datetime | None) -> None:
        if moment is not None and (self.newest is None or moment > self.newest):
            self.newest = moment


@dataclass
class _Read:
    """One read of a media's comments, newest first, possibly over several polls."""

    media: Mapping[str, Any]
    saved: dict[str, Any]  # the media's progress from its last finished read ("n", "h", "s")
    count: Any  # comments_count when this read began: saved as "n" when it ends
    stop: datetime  # comments and replies older than this are not mentions
    need: int | None  # new comments and replies still to find; None: read to the last page
    after: str | None = None  # where a read cut short goes on
    top: datetime | None = None  # the newest comment time this read saw
    urgent: bool = True  # the count moved (or a cut read goes on): read before the sweep
    # Reply threads of the comments read whose further pages are still to read, the one under way
    # first: {"id": the comment, "text": its text (excerpt) or None, "a": the replies' cursor}.
    threads: list[dict[str, Any]] = field(default_factory=list)
    listed: bool = False  # no page of comments left to read: the read ends with its threads
    ended: bool = False  # the comments were read to their last page (the sweep's clock moves)
    old: bool = False  # a comment older than the stop was reached: `need` 0 ends the read

    @property
    def key(self) -> str:
        return MEDIA_PREFIX + str(self.media["id"])

    @property
    def head(self) -> datetime | None:
        return maybe_time(self.saved.get("h"))

    @property
    def finished(self) -> bool:
        return self.listed and not self.threads

    @property
    def enough(self) -> bool:
        """A count-triggered read found what it sought."""
        return self.old and self.need == 0

    def dump(self, now: datetime) -> str:
        """The progress after a page: finished, or where to go on (`a`: the next page of comments,
        None when none is left; `q`: the reply threads still to read)."""
        finished = self.finished
        head = self.head
        if finished and self.top is not None and (head is None or self.top > head):
            head = self.top
        state: dict[str, Any] = {
            "n": self.count if finished else self.saved.get("n"),
            "h": head.isoformat() if head else None,
            "s": now.isoformat() if finished and self.ended else self.saved.get("s"),
        }
        if not finished:
            state["r"] = {
                "a": None if self.listed else self.after or "",
                "need": self.need,
                "c": self.count,
                "t": self.top.isoformat() if self.top else None,
                "stop": self.stop.isoformat(),
            }
            if self.threads:
                state["r"]["q"] = self.threads
                if self.listed:
                    state["r"]["e"] = self.ended
        return json.dumps(state)


def _threads(saved: Any) -> list[dict[str, Any]]:
    """Saved reply threads still to read (anything unreadable is dropped)."""
    return [
        {"id": t["id"], "text": t.get("text"), "a": t.get("a")}
        for t in (saved if isinstance(saved, list) else [])
        if isinstance(t, dict)
        and isinstance(t.get("id"), str)
        and isinstance(t.get("text"), str | None)
        and isinstance(t.get("a"), str | None)
    ]


def _more_replies(comment: Any) -> dict[str, Any] | None:
    """A reply thread to read on when the comment's inline replies have a next page."""
    replies = comment.get("replies") if isinstance(comment, dict) else None
    if not isinstance(replies, dict) or not isinstance(comment.get("id"), str):
        return None
    more = next_args(replies)
    if more is None:
        return None
    paging = replies.get("paging")
    cursors = paging.get("cursors") if isinstance(paging, dict) else None
    after = more.get("after") or (cursors.get("after") if isinstance(cursors, dict) else None)
    text = comment.get("text")
    return {
        "id": comment["id"],
        "text": excerpt(text) if isinstance(text, str) else None,
        "a": after if isinstance(after, str) and after else None,
    }


class InstagramConnector:
    """One Instagram professional account, read and answered with its Page's token."""

    platform: Platform = "instagram"

    def __init__(
        self,
        *,
        base_url: str,
        version: str,
        timeout: float,
        page_id: str,
        page_token: str,
        account_id: str | None = None,
        lookback_days: int = 3,
        watch_days: int = 90,
        page_size: int = COMMENT_PAGE,
        max_comment_pages: int = MAX_COMMENT_PAGES,
    ) -> None:
        self.page_id = page_id
        self.account_id = account_id
        self.lookback = timedelta(days=lookback_days)
        self.watch = timedelta(days=max(watch_days, lookback_days))
        self.sweep_watch = min(SWEEP_WATCH, self.watch)
        self.page_size = page_size
        self.max_comment_pages = max_comment_pages
        self.graph = Graph(
            base_url=base_url, version=version, timeout=timeout, token=page_token, who="Instagram"
        )

    # -- identity ------------------------------------------------------------------------

    def identify(self) -> AccountIdentity:
        if not self.account_id:
            body = self.graph.read(
                lambda: self.graph.get(self.page_id, fields="instagram_business_account"), refused={100, 803}
            )
            linked = body.get("instagram_business_account") if isinstance(body, dict) else None
            if not isinstance(linked, dict) or not isinstance(linked.get("id"), str):
                raise Rejected("this Page has no Instagram professional account connected to it")
            self.account_id = linked["id"]
        account_id = self.account_id
        body = self.graph.read(
            lambda: self.graph.get(account_id, fields="id,username,name"), refused={100, 803}
        )
        try:
            username = body["username"]
            if body["id"] != account_id or not isinstance(username, str) or not username:
                raise TypeError("id or username")
        except MALFORMED as exc:
            raise TransientError("Graph sent a malformed Instagram account") from exc
        return AccountIdentity("instagram", account_id, username, str(body.get("name") or username))

    def _own_id(self) -> str:
        if not self.account_id:
            self.identify()
        assert self.account_id is not None
        return self.account_id

    # -- reading -------------------------------------------------------------------------

    def fetch(
        self,
        cursor: str | None,
        now: datetime,
        outcome: PollOutcome,
        progress: Mapping[str, str] | None = None,
    ) -> Iterator[Page]:
        account_id = self._own_id()
        kept = progress or {}
        previous = maybe_time(cursor)
        poll = _Poll(
            now=now,
            floor=previous - OVERLAP if previous else now - self.lookback,
            outcome=outcome,
            budget=self.max_comment_pages,
        )
        poll.saw(previous)
        reads: list[_Read] = []
        for media in self._listing(account_id, now, outcome):
            planned = self._plan(media, kept, poll)
            if isinstance(planned, Page):
                yield planned
            elif planned is not None:
                reads.append(planned)
        # Media whose count moved first: the sweep gets what the budget leaves.
        failed, done = 0, 0
        for read in sorted(reads, key=lambda r: not r.urgent):
            try:
                yield from self._read(read, poll)
            except TransientError as exc:
                # One media Graph cannot serve now must not keep the others' comments from staff;
                # it is read again next poll (its progress so far is saved).
                failed += 1
                outcome.notes.append(f"could not read media {read.media['id']} this time: {exc}")
                continue
            done += 1
        if failed and not done:
            raise TransientError(f"Graph could not read the comments of any media ({outcome.notes[-1]})")
        if poll.cut or failed:
            outcome.partial = True
            if poll.cut:
                outcome.notes.append(
                    f"read {self.max_comment_pages} pages of comments; {poll.cut} media continue next poll"
                )
            outcome.cursor = cursor  # media never read must still be read from the old cursor
            return
        outcome.cursor = poll.newest.isoformat() if poll.newest else cursor

    def _listing(self, account_id: str, now: datetime, outcome: PollOutcome) -> list[dict[str, Any]]:
        """The account's media, newest first, back over the watch window."""
        listed: list[dict[str, Any]] = []
        args: dict[str, str] | None = {"fields": MEDIA_FIELDS, "limit": str(MEDIA_PAGE)}
        pages = Pages("media")
        while args is not None:
            outcome.requests += 1
            body = self.graph.read(partial(self.graph.get, f"{account_id}/media", **args))
            media_list = items(body)
            listed += [m for m in media_list if isinstance(m, dict) and isinstance(m.get("id"), str)]
            last = media_list[-1] if media_list and isinstance(media_list[-1], dict) else {}
            posted = maybe_time(last.get("timestamp"))
            args = pages.next(next_args(body)) if posted is None or posted >= now - self.watch else None
        return listed

    def _plan(self, media: Mapping[str, Any], kept: Mapping[str, str], poll: _Poll) -> _Read | Page | None:
        """How to read one media's comments this poll: not at all, only a progress note, or a read."""
        key = MEDIA_PREFIX + media["id"]
        state = saved_state(kept.get(key))
        saved = {k: state.get(k) for k in ("n", "h", "s")} if state else {}
        head = maybe_time(saved.get("h"))
        cut = state.get("r") if state else None
        if isinstance(cut, dict):  # a read the budget cut short: go on where it stopped
            left = cut.get("need")
            threads = _threads(cut.get("q"))
            listed = bool(threads) and cut.get("a") is None  # only reply threads were left
            return _Read(
                media=media,
                saved=saved,
                count=cut.get("c"),
                stop=maybe_time(cut.get("stop")) or (head - OVERLAP if head else poll.floor),
                need=left if isinstance(left, int) else None,
                after=cut.get("a") if isinstance(cut.get("a"), str) and cut.get("a") else None,
                top=maybe_time(cut.get("t")),
                threads=threads,
                listed=listed,
                ended=listed and cut.get("e") is True,
            )
        count = media.get("comments_count")
        if count == 0:  # nothing to read
            if state is None or saved.get("n") != 0:
                dumped = json.dumps({**saved, "n": 0, "s": poll.now.isoformat()})
                return Page(mentions=(), progress={key: dumped})
            return None
        posted = maybe_time(media.get("timestamp"))
        swept = maybe_time(saved.get("s"))
        due = (posted is None or posted >= poll.now - self.sweep_watch) and (
            swept is None or poll.now - swept >= SWEEP_EVERY
        )
        moved = state is None or count != saved.get("n")
        if not (moved or due):
            return None  # no comment added or removed since the last read, and no sweep due
        need: int | None = None  # the sweep reads to the last page
        if not due:
            # A new reply can be under any comment: read until as many new comments and replies as
            # the count grew by were found (a count that fell or is unknown: down to the stop).
            before = saved.get("n")
            grew = count - before if isinstance(count, int) and isinstance(before, int) else 0
            need = max(grew, 0)
        return _Read(
            media=media,
            saved=saved,
            count=count,
            stop=head - OVERLAP if head else poll.floor,
            need=need,
            urgent=moved,
        )

    def _read(self, read: _Read, poll: _Poll) -> Iterator[Page]:
        """Pages of one media's comments, newest first, each with the media's progress after it; a
        page's reply threads with more than their inline page are read on before the next page."""
        media_id = read.media["id"]
        args: dict[str, str] = {"fields": COMMENT_FIELDS, "limit": str(self.page_size)}
        if read.after:
            args["after"] = read.after
        pages = Pages(f"comments of media {media_id}")
        # A read cut short in the replies of a page of comments goes on there.
        if read.threads and not (yield from self._replies(read, poll)):
            return
        while not read.listed:
            if poll.budget <= 0:
                poll.cut += 1  # the progress saved with the last page says where to go on
                return
            poll.budget -= 1
            poll.outcome.requests += 1
            try:
                body = self.graph.read(
                    partial(self.graph.get, f"{media_id}/comments", **args), gone=GONE_CODES
                )
            except TooMuch as exc:  # long comments with their inline replies: the page, smaller
                args = {**args, "limit": str(fewer(int(args["limit"]), exc))}
                continue
            except Gone as exc:
                if not read.after:
                    poll.outcome.notes.append(f"skipped the comments of media {media_id}: {exc}")
                    return
                # Graph no longer knows the saved cursor: the next poll reads the media again.
                poll.outcome.notes.append(f"media {media_id}: a saved cursor expired; reading again")
                yield Page(mentions=(), progress={read.key: json.dumps(read.saved)})
                return
            found = items(body)
            mentions, skipped, newest, reached_old, fresh = self._comment_page(
                [(item, None) for item in found], read.media, read.stop, read.head
            )
            self._seen(read, poll, newest, fresh)
            read.old = reached_old
            more = next_args(body)
            enough = read.enough
            if more is not None and not enough:
                try:
                    pages.next({**args, **more})
                except TransientError as exc:  # Graph repeats a page: end this read here
                    poll.outcome.notes.append(f"stopped reading media {media_id}: {exc}")
                    more = None
            after = None if more is None or enough else str(more.get("after") or "")
            read.listed, read.ended = after is None, more is None
            read.after = after or None
            if not enough:
                read.threads = [t for t in map(_more_replies, found) if t is not None]
            yield Page(mentions=tuple(mentions), skipped=skipped, progress={read.key: read.dump(poll.now)})
            if read.threads and not (yield from self._replies(read, poll)):
                return
            if more is not None:
                args = {**args, **more}

    def _replies(self, read: _Read, poll: _Poll) -> Generator[Page, None, bool]:
        """The further pages of the read's reply threads; False when the budget cut them short."""
        pages: dict[str, Pages] = {}
        size = self.page_size
        while read.threads:
            if poll.budget <= 0:
                poll.cut += 1  # the progress saved with the last page says where to go on
                return False
            poll.budget -= 1
            poll.outcome.requests += 1
            thread = read.threads[0]
            comment_id = thread["id"]
            args = {"fields": REPLY_FIELDS, "limit": str(size)}
            if thread["a"]:
                args["after"] = thread["a"]
            try:
                body = self.graph.read(
                    partial(self.graph.get, f"{comment_id}/replies", **args), gone=GONE_CODES
                )
            except TooMuch as exc:
                size = fewer(size, exc)
                continue
            except Gone as exc:
                if thread["a"]:  # an expired cursor (or a deleted comment: then skipped below)
                    poll.outcome.notes.append(f"comment {comment_id}: reading its replies again ({exc})")
                    thread["a"] = None
                    read.need = None  # replies counted already would count again: read to the end
                else:
                    poll.outcome.notes.append(f"skipped the replies of comment {comment_id}: {exc}")
                    read.threads.pop(0)
                yield Page(mentions=(), progress={read.key: read.dump(poll.now)})
                continue
            parent = {"id": comment_id, "text": thread["text"]}
            mentions, skipped, newest, _, fresh = self._comment_page(
                [(reply, parent) for reply in items(body)], read.media, read.stop, read.head
            )
            self._seen(read, poll, newest, fresh)
            more = next_args(body)
            after = more.get("after") if more is not None else None
            if after:
                try:
                    pages.setdefault(comment_id, Pages(f"replies of comment {comment_id}")).next(more)
                except TransientError as exc:  # Graph repeats a page: end this thread here
                    poll.outcome.notes.append(f"stopped reading comment {comment_id}: {exc}")
                    after = None
            if after:
                thread["a"] = after
            else:
                read.threads.pop(0)
            if read.enough:  # a count-triggered read found what it sought: it ends here
                read.threads, read.listed, read.ended = [], True, False
            yield Page(mentions=tuple(mentions), skipped=skipped, progress={read.key: read.dump(poll.now)})
        return True

    @staticmethod
    def _seen(read: _Read, poll: _Poll, newest: datetime | None, fresh: int) -> None:
        poll.saw(newest)
        if newest is not None and (read.top is None or newest > read.top):
            read.top = newest
        if read.need is not None:
            read.need = max(read.need - fresh, 0)

    def _comment_page(
        self,
        page: list[tuple[Any, Mapping[str, Any] | None]],
        media: Mapping[str, Any],
        stop: datetime,
        head: datetime | None,
    ) -> tuple[list[Mention], int, datetime | None, bool, int]:
        """One page of top-level comments with their inline replies, or of one comment's replies
        (each item with its parent comment, None for a top-level one): the mentions, how many items
        were skipped, the newest time, whether a top-level comment older than `stop` was reached
        (the rest are older still, but their replies need not be) and how many items are newer
        than `head`, the newest time read before."""
        mentions: list[Mention] = []
        skipped = fresh = 0
        newest: datetime | None = None
        reached_old = False
        for item, above in page:
            replies = item.get("replies") if isinstance(item, dict) and above is None else None
            thread = [(item, above)] + [
                (reply, item) for reply in (replies.get("data") if isinstance(replies, dict) else None) or []
            ]
            for comment, parent in thread:
                created = maybe_time(comment.get("timestamp")) if isinstance(comment, dict) else None
                if created is not None and (head is None or created > head):
                    fresh += 1
                if created is not None and created < stop:
                    reached_old = reached_old or parent is None
                    continue
                if created is not None and (newest is None or created > newest):
                    newest = created
                try:
                    mention = self._mention(comment, media, parent)
                except (Malformed, *MALFORMED) as exc:
                    log.warning("skipped an Instagram comment with a missing or malformed field: %s", exc)
                    skipped += 1
                    continue
                if mention is not None:
                    mentions.append(mention)
        return mentions, skipped, newest, reached_old, fresh

    def _mention(
        self, item: Any, media: Mapping[str, Any], parent: Mapping[str, Any] | None
    ) -> Mention | None:
        if not isinstance(item, dict):
            raise Malformed("not an object")
        for key in ("id", "timestamp"):
            if not isinstance(item.get(key), str) or not item[key]:
                raise Malformed(f"{key} missing")
        if not isinstance(item.get("text", ""), str):
            raise Malformed("text is not text")
        # A comment can be a GIF or a sticker with no words: still somebody talking to the account.
        author = item["from"] if isinstance(item.get("from"), dict) else {}
        username = str(item.get("username") or author.get("username") or "")
        if str(author.get("id") or "") == self.account_id:
            return None  # the account's own comment or reply
        caption = media.get("caption") if isinstance(media.get("caption"), str) else None
        parent_text = (
            parent.get("text") if parent is not None and isinstance(parent.get("text"), str) else caption
        )
        permalink = media.get("permalink")
        return Mention(
            platform="instagram",
            external_id=item["id"],
            account_external_id=self.account_id or "",
            author=Author(
                id=str(author.get("id") or username or "unknown"),
                handle=username,
                url=f"https://www.instagram.com/{username}/" if username else "",
            ),
            text=item.get("text") or "",
            url=permalink if isinstance(permalink, str) and permalink else "",
            created_at=parse_time(item["timestamp"]),
            conversation_id=media["id"],
            parent_id=parent["id"] if parent is not None else media["id"],
            parent_text=excerpt(parent_text) if parent_text else None,
            explicit_mention=True,
            raw={
                "comment": item,
                "media": {k: media[k] for k in ("id", "caption", "permalink") if k in media},
            },
        )

    # -- writing -------------------------------------------------------------------------

    def reply(self, mention: Mention, text: str) -> PostedReply:
        # Instagram answers only top-level comments: a reply to a reply joins its thread.
        nested = in_thread(mention.parent_id, mention.conversation_id or mention.external_id)
        target = mention.parent_id if nested and mention.parent_id else mention.external_id
        body = self.graph.write(lambda: self.graph.post(f"{target}/replies", message=text))
        try:
            reply_id = body["id"]
            if not isinstance(reply_id, str) or not reply_id:
                raise TypeError("no id")
        except MALFORMED as exc:
            raise AmbiguousOutcome("Graph accepted the reply but its answer was unreadable") from exc
        return PostedReply(external_id=reply_id, url=mention.url)

    def like(self, mention: Mention) -> None:
        raise Rejected("Instagram offers no way for an app to like a comment")

    def hide(self, mention: Mention) -> None:
        body = self.graph.write(lambda: self.graph.post(mention.external_id, hide="true"))
        if not (isinstance(body, dict) and body.get("success") is True):
            raise AmbiguousOutcome("Graph did not confirm that the comment is hidden")


# -- the platform as the rest of TwoWay sees it ------------------------------------------------


def build(options: Options, creds: Mapping[str, str], identity: AccountIdentity | None) -> InstagramConnector:
    return InstagramConnector(
        base_url=options["FACEBOOK_GRAPH_URL"],
        version=options["FACEBOOK_GRAPH_VERSION"],
        timeout=options["TWOWAY_HTTP_TIMEOUT"],
        page_id=creds["page_id"],
        page_token=creds["page_token"],
        account_id=(identity.external_id if identity else None) or creds.get("account_id"),
        lookback_days=options["TWOWAY_FACEBOOK_LOOKBACK_DAYS"],
        watch_days=options["TWOWAY_FACEBOOK_WATCH_DAYS"],
    )


def _incomplete(creds: Mapping[str, str]) -> str | None:
    missing = [f.key for f in PAGE_FIELDS if f.key not in creds]
    return f"Instagram needs the connected Page's {' and '.join(missing)}" if missing else None


SPEC = PlatformSpec(
    name="instagram",
    title="Instagram",
    noun="an Instagram account",
    rules=ReplyRules(limit=2200, address_in_thread=True),
    fields=(
        *PAGE_FIELDS,
        CredentialField(
            "account_id",
            "Instagram account ID (optional)",
            "Leave empty to use the professional account connected to the Page",
            "INSTAGRAM_ACCOUNT_ID",
            optional=True,
            digits=True,
        ),
    ),
    build=build,
    intro="Paste the id and a Page access token of the Facebook Page your Instagram professional account"
    " is connected to. TwoWay finds the account from the Page, checks it with Instagram before saving and"
    " stores the token encrypted; it is never shown again.",
    refused="Instagram refused this token (expired or revoked?). Create a new Page access token.",
    env_triggers=("INSTAGRAM_ACCOUNT_ID",),
    env_needs=(("INSTAGRAM_ACCOUNT_ID", ("FACEBOOK_PAGE_ID", "FACEBOOK_PAGE_TOKEN")),),
    incomplete=_incomplete,
    gone="This Page has no Instagram professional account connected, or the id is wrong.",
    pinned="account_id",
    pinned_mismatch="This Page's token does not reach that Instagram account.",
    can_like=False,
    can_hide=True,
    permissions="instagram_basic, instagram_manage_comments, pages_read_engagement, pages_show_list",
)
