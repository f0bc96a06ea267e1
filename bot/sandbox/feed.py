"""The simulated public: posts the TwoWay team wrote for the sandbox, and the clock that sends them.

Every item is made up (no real post, and nothing from the evaluation file): a fictional town,
its police department and its residents. Together they show each category, sarcasm, an
emergency, a question the seeded FAQ answers, an X reply that does not @mention the account
(X lets no app answer it), Facebook replies under replies, and public text that would ping
the whole Slack channel if it were not escaped.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Item:
    platform: str  # "x" or "facebook"
    author: str  # display name
    text: str
    key: str = ""  # a name later items use in `reply_to`
    on: str = ""  # the agency's own post it answers (a key of ACCOUNT_POSTS)
    reply_to: str = ""  # an earlier item it answers (X thread, Facebook reply under a comment)
    mentions_account: bool = True  # X: whether it @mentions the account
    age_minutes: int | None = None  # set: already posted when the sandbox starts, this long ago
    shows: str = ""  # what it is there to show


# The agency's own posts that people comment on or reply to: key -> (platform, text, age in minutes).
ACCOUNT_POSTS: dict[str, tuple[str, str, int]] = {
    "x-coffee": (
        "x",
        "Coffee with a Cop this Saturday, 9 to 11 at Maple Falls Library. Bring your questions!",
        300,
    ),
    "x-route9": (
        "x",
        "Route 9 bridge: one lane closed Monday to Wednesday for repairs. Plan extra time.",
        200,
    ),
    "fb-roadwork": (
        "facebook",
        "Road work on Route 9 starts Monday. Expect one lane each way near the bridge until Wednesday evening.",
        360,
    ),
    "fb-food-drive": (
        "facebook",
        "Thank you, Maple Falls! Our holiday food drive filled two patrol cars and a van. Drop-offs continue at the front desk until Friday.",
        240,
    ),
}

FAQ_QUESTION = "How do I get a copy of a police or accident report?"
FAQ_ANSWER = (
    "Reports are ready about 5 business days after the incident. Request yours online at "
    "https://www.maplefalls.example/records or at the front desk, Monday to Friday, 8 to 5."
)

SCRIPT: tuple[Item, ...] = (
    # Already there when the sandbox starts (the first poll brings them in).
    Item(
        "x",
        "Priya Natarajan",
        "Huge thanks to the two officers who stayed with my dad after his car died on Route 9 last night. Above and beyond, truly.",
        age_minutes=95,
        shows="a compliment",
    ),
    Item(
        "x",
        "Marcus Webb",
        "how do I get a copy of the accident report from the fender bender on Oak & 3rd last week?",
        age_minutes=70,
        shows="a question the seeded FAQ answers",
    ),
    Item(
        "facebook",
        "Linda Kowalski",
        "Will the Route 9 bridge be fully closed at any point? I drive my son to school that way every morning.",
        key="fb-bridge",
        on="fb-roadwork",
        age_minutes=60,
        shows="a question on a Page post",
    ),
    Item(
        "facebook",
        "Tom Rourke",
        "Linda, they said one lane each way, so it stays open. Though knowing this town it'll take till spring.",
        reply_to="fb-bridge",
        age_minutes=48,
        shows="a reply under a comment",
    ),
    Item(
        "x",
        "Dee Alvarez",
        "Wow, 45 minutes to show up for a break-in two blocks from the station. Truly world-class service.",
        age_minutes=40,
        shows="sarcasm: criticism worded as praise",
    ),
    Item(
        "x",
        "Sam Oyelaran",
        "will there be coffee for the kids too? mine have a lot of questions about the K9",
        on="x-coffee",
        mentions_account=False,
        age_minutes=30,
        shows="an X reply to the account's post that does not @mention it",
    ),
    Item(
        "facebook",
        "Linda Kowalski",
        "Tom, one lane each way is still open, that's what I needed to know. Thanks for the laugh though.",
        reply_to="fb-bridge",
        age_minutes=20,
        shows="a reply to a reply: Facebook keeps it under the first comment",
    ),
    # Then one every few seconds.
    Item(
        "x",
        "Jordan Blake",
        "someone is trying to get into my neighbor's house right now on Birch Lane, I can see him at the back window. she's away",
        shows="an emergency",
    ),
    Item(
        "facebook",
        "Grace Huang",
        "We donated three boxes last week and the officer at the desk helped carry them in from the car. Thank you!",
        on="fb-food-drive",
        shows="a compliment on a Page post",
    ),
    Item(
        "x",
        "Ray Costa",
        "Three car break-ins on Elm St this month and not a single patrol in sight. Pathetic.",
        shows="criticism",
    ),
    Item(
        "x",
        "Hannah Lee",
        "Is the Saturday coffee thing open to everyone or do you need to sign up?",
        shows="a question",
    ),
    Item(
        "facebook",
        "Victor Mendes",
        "Do you still accept canned goods after Friday? Our church collected a lot more than we expected.",
        key="fb-cans",
        on="fb-food-drive",
        shows="a question on a Page post",
    ),
    Item(
        "x",
        "Chris Novak",
        "<!channel> <@U0CHEN0001> wake up, the light at 5th & Main has been out for a week <script>alert('hi')</script>",
        shows="text that would ping the channel and inject HTML if it were not escaped",
    ),
    Item(
        "facebook",
        "Ana Ruiz",
        "Victor, call the front desk, they took ours on Monday.",
        reply_to="fb-cans",
        shows="a reply under a comment",
    ),
    Item(
        "x",
        "Mo Farouk",
        "The K9 demo at the farmers market today was the highlight of my kids' week 🐕",
        shows="a compliment",
    ),
    Item(
        "x",
        "Elena Petrova",
        "¿Dónde puedo pagar una multa de estacionamiento en línea?",
        shows="a post in another language",
    ),
    Item(
        "facebook",
        "Bill Harmon",
        "Road work again?? You people close that bridge every year and nothing ever gets fixed.",
        on="fb-roadwork",
        shows="criticism on a Page post",
    ),
    Item(
        "x",
        "Kelly Grant",
        "saw the drone over the river this morning, was that you guys or should I be worried",
        shows="a question",
    ),
    Item(
        "x",
        "Nate Simmons",
        "just heard a car hit a cyclist at Pine and 2nd, he's not moving. calling 911 now but get someone here",
        shows="an emergency",
    ),
    Item(
        "facebook",
        "Rosa Delgado",
        "My daughter's bike was returned this morning thanks to Officer Tran. She was over the moon. Thank you!",
        on="fb-food-drive",
        shows="a compliment",
    ),
    Item(
        "x",
        "Pat Quinn",
        "Thanks for nothing. Reported my stolen catalytic converter in June and never heard a word back. Great job.",
        shows="sarcasm",
    ),
    Item(
        "x",
        "Ivy Chen",
        "where do I get a copy of a police report for my insurance claim?",
        shows="a question the seeded FAQ answers",
    ),
    Item(
        "facebook",
        "Dan Whitfield",
        "Anybody know if the parade route changed this year?",
        on="fb-roadwork",
        shows="other: a question for the neighbours, not the department",
    ),
)


def initial_items() -> list[Item]:
    return [item for item in SCRIPT if item.age_minutes is not None]


def arriving_items() -> list[Item]:
    return [item for item in SCRIPT if item.age_minutes is None]


Publish = Callable[[Item, datetime], None]


class Feeder:
    """Publishes the items already there at start, then one more every `every` seconds (about).

    When the script runs out it starts again from the first arriving item, so a sandbox left
    open keeps having something for the queue, the SLA reminders and the digest to count.
    """

    def __init__(self, publish: Publish, every: float, seed: int | None = None) -> None:
        self.publish = publish
        self.every = every
        self.random = random.Random(seed)
        self.stopped = threading.Event()
        self.sent = 0
        self.thread = threading.Thread(target=self._run, name="sandbox-feed", daemon=True)

    def start(self) -> None:
        now = datetime.now(UTC)
        for item in initial_items():
            self._publish(item, now - timedelta(minutes=item.age_minutes or 0))
        if self.every > 0:
            self.thread.start()

    def stop(self) -> None:
        self.stopped.set()

    def _run(self) -> None:
        items = arriving_items()
        index = 0
        while not self.stopped.wait(self.every * self.random.uniform(0.6, 1.4)):
            self._publish(items[index % len(items)], datetime.now(UTC))
            index += 1

    def _publish(self, item: Item, at: datetime) -> None:
        try:
            self.publish(item, at)
            self.sent += 1
        except Exception:  # one bad item must not stop the feed
            log.exception("the sandbox could not publish an item on %s", item.platform)
