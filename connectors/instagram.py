"""An Instagram professional account through the Instagram Graph API, with the connected Page's token.

The endpoints live on the Facebook Graph host and take the same Page token, so facebook-sdk's
`GraphAPI.request` reaches them (`connectors/graph.py`). The account is the Page's
`instagram_business_account`, or the one pinned with INSTAGRAM_ACCOUNT_ID. A poll lists the
account's recent media in one request, with each media's `comments_count`; only media whose
count changed since the last read have their comments read (each with its replies expanded), so
an idle account costs one request. Instagram offers no like of a comment through the API.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
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
    excerpt,
    items,
    maybe_time,
    next_args,
    parse_time,
)
from domain import AccountIdentity, Author, Mention, Platform, PostedReply, ReplyRules

log = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=10)
MEDIA_PAGE = 50
COMMENT_PAGE = 50
MEDIA_FIELDS = "id,caption,timestamp,permalink,comments_count"
COMMENT_FIELDS = "id,text,timestamp,username,from,hidden,replies{id,text,timestamp,username,from,hidden}"
MEDIA_PREFIX = "media:"  # progress: {"n": comments_count when read, "h": newest comment time}


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
    ) -> None:
        self.page_id = page_id
        self.account_id = account_id
        self.lookback = timedelta(days=lookback_days)
        self.watch = timedelta(days=max(watch_days, lookback_days))
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
        floor = previous - OVERLAP if previous else now - self.lookback
        newest = previous
        args: dict[str, str] | None = {"fields": MEDIA_FIELDS, "limit": str(MEDIA_PAGE)}
        pages = Pages("media")
        while args is not None:
            outcome.requests += 1
            body = self.graph.read(partial(self.graph.get, f"{account_id}/media", **args))
            media_list = items(body)
            for media in media_list:
                if not isinstance(media, dict) or not isinstance(media.get("id"), str):
                    continue
                for page, seen in self._media_pages(media, kept, floor, outcome):
                    if seen is not None and (newest is None or seen > newest):
                        newest = seen
                    yield page
            last = media_list[-1] if media_list and isinstance(media_list[-1], dict) else {}
            posted = maybe_time(last.get("timestamp"))
            args = pages.next(next_args(body)) if posted is None or posted >= now - self.watch else None
        outcome.cursor = newest.isoformat() if newest else cursor

    def _media_pages(
        self, media: Mapping[str, Any], kept: Mapping[str, str], floor: datetime, outcome: PollOutcome
    ) -> Iterator[tuple[Page, datetime | None]]:
        key = MEDIA_PREFIX + media["id"]
        count = media.get("comments_count")
        state = saved_state(kept.get(key))
        if state is not None and count == state.get("n"):
            return  # no comment added or removed since the last read
        head = maybe_time(state.get("h")) if state else None
        stop = head - OVERLAP if head else floor
        args: dict[str, str] | None = {"fields": COMMENT_FIELDS, "limit": str(COMMENT_PAGE)}
        pages = Pages(f"comments of media {media['id']}")
        top = head
        try:
            while args is not None:
                outcome.requests += 1
                body = self.graph.read(
                    partial(self.graph.get, f"{media['id']}/comments", **args), gone=GONE_CODES
                )
                mentions, skipped, newest, reached_old = self._comment_page(body, media, stop)
                if newest is not None and (top is None or newest > top):
                    top = newest
                args = None if reached_old else pages.next(next_args(body))
                progress: dict[str, str | None] = {}
                if args is None:
                    progress[key] = json.dumps({"n": count, "h": top.isoformat() if top else None})
                yield Page(mentions=tuple(mentions), skipped=skipped, progress=progress), newest
        except Gone as exc:
            outcome.notes.append(f"skipped the comments of media {media['id']}: {exc}")

    def _comment_page(
        self, body: Any, media: Mapping[str, Any], stop: datetime
    ) -> tuple[list[Mention], int, datetime | None, bool]:
        mentions: list[Mention] = []
        skipped = 0
        newest: datetime | None = None
        reached_old = False
        for item in items(body):
            replies = item.get("replies") if isinstance(item, dict) else None
            thread = [(item, None)] + [
                (reply, item) for reply in (replies.get("data") if isinstance(replies, dict) else None) or []
            ]
            for comment, parent in thread:
                created = maybe_time(comment.get("timestamp")) if isinstance(comment, dict) else None
                if created is not None and created < stop:
                    if parent is None:
                        reached_old = True
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
            if reached_old:
                break
        return mentions, skipped, newest, reached_old

    def _mention(
        self, item: Any, media: Mapping[str, Any], parent: Mapping[str, Any] | None
    ) -> Mention | None:
        if not isinstance(item, dict):
            raise Malformed("not an object")
        for key in ("id", "text", "timestamp"):
            if not isinstance(item.get(key), str) or not item[key]:
                raise Malformed(f"{key} missing")
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
            text=item["text"],
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
        is_reply = mention.parent_id is not None and mention.parent_id != mention.conversation_id
        target = mention.parent_id if is_reply and mention.parent_id else mention.external_id
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
    rules=ReplyRules(limit=2200),
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
