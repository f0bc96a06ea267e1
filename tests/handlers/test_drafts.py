"""Suggested replies: what each kind of post gets, in what order, and what never happens."""

from __future__ import annotations

import re

import pytest

import domain
from connectors.registry import spec
from handlers.drafts import MAX_DRAFTS, PastReply, make_drafts, reuse_reply
from handlers.faq import FaqEntry
from handlers.templates import URGENT_LEAD, TemplateSpec, default_pack
from handlers.text import fits, x_weighted_length

AGENCY = {
    "agency_name": "Springfield Police Department",
    "phone": "(555) 010-2000",
    "website": "https://springfield.example.gov",
    "records_url": "https://springfield.example.gov/records",
}
FAQS = [
    FaqEntry(
        1,
        "How do I get a copy of a police report?",
        "You can request a copy of a police report at {records_url}.",
    ),
    FaqEntry(2, "How do I pay a parking ticket?", "Parking tickets can be paid online at {website}."),
]
CHANNEL = re.compile(r"direct message|\(555\) 010-2000|supervisor")
THANKS_FOR_PRAISE = re.compile(r"thank|kind words|appreciate|made our day", re.IGNORECASE)


def drafts_for(
    text: str,
    category: domain.Category,
    *,
    urgent: bool = False,
    platform: str = "x",
    variables: dict[str, str] | None = None,
    templates: tuple[TemplateSpec, ...] | None = None,
    faqs: list[FaqEntry] | None = None,
    history: list[PastReply] | None = None,
    scores: dict[str, float] | None = None,
    in_thread: bool = False,
) -> list[domain.Draft]:
    return make_drafts(
        triage=domain.Triage(
            category=category, confidence=0.9, urgent=urgent, scores=scores or {category: 0.9}
        ),
        text=text,
        rules=spec(platform).rules,
        author_handle="jane_doe",
        author_name="Jane",
        variables=AGENCY if variables is None else variables,
        templates=default_pack() if templates is None else templates,
        faqs=FAQS if faqs is None else faqs,
        history=history or [],
        in_thread=in_thread,
    )


@pytest.mark.parametrize(("platform", "address"), [("instagram", "@jane_doe "), ("facebook", "Jane ")])
def test_an_answer_to_a_reply_names_who_it_answers_where_it_joins_the_parents_thread(
    platform: str, address: str
) -> None:
    """Instagram and Facebook threads are one level deep: the answer to a reply lands under the
    comment it replied to, so without the author's handle (or name) it reads as addressed to
    whoever started the thread, as the apps' own Reply button knows."""
    for category, text in [("question", "Is the road on 5th street open yet?"), ("criticism", CRITICISMS[0])]:
        nested = drafts_for(text, category, platform=platform, in_thread=True)
        assert nested
        assert all(d.text.startswith(address) for d in nested)
        assert all(fits(d.text, spec(platform).rules) for d in nested)
        top_level = drafts_for(text, category, platform=platform)
        assert not any(d.text.startswith(address) for d in top_level)


def test_an_urgent_answer_to_a_reply_still_leads_with_911() -> None:
    [first, *_] = drafts_for(
        "someone is breaking into my car right now",
        "other",
        urgent=True,
        platform="instagram",
        in_thread=True,
    )
    assert first.text.startswith(URGENT_LEAD[:-5])
    assert "@jane_doe" in first.text


COMPLIMENTS = [
    "Huge thanks to the officers who stopped to help me change my tire!",
    "The dispatcher who took my call last night was so calm and kind. Thank you.",
    "Loved the parade today, great event for the kids",
    "You all do a great job, thank you",
    "Shoutout to @SpringfieldPD for the quick response ❤️",
]
CRITICISMS = [
    "Nobody answered when I called about the break-in. Useless.",
    "Your officers were rude to my son and I want answers",
    "Three hours to respond to a burglary?? Unacceptable.",
    "Stop wasting money on new cars and start doing your job",
]
QUESTIONS = [
    "Is the road on 5th street open yet?",
    "How can I get a copy of the police report from my crash?",
    "Are you hiring?",
    "Do you guys do vacation house checks?",
]
OTHERS = ["lol", "Retweeting for visibility", "Anyone know what the sirens downtown were about"]


@pytest.mark.parametrize("text", COMPLIMENTS)
def test_compliments_get_warm_thanks(text: str) -> None:
    drafts = drafts_for(text, "compliment")
    assert len(drafts) == MAX_DRAFTS
    assert all("thank" in d.text.lower() for d in drafts)
    assert len({d.text for d in drafts}) == len(drafts)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("The dispatcher who took my call last night was so calm and kind.", "compliment.dispatch"),
        ("Huge thanks to the officers who helped me", "compliment.officers"),
        ("Loved the parade today", "compliment.event"),
    ],
)
def test_compliments_about_something_specific_get_the_specific_thanks_first(text: str, key: str) -> None:
    assert drafts_for(text, "compliment")[0].key == key


def test_specific_thanks_never_goes_to_a_post_about_something_else() -> None:
    texts = ["You all do a great job, thank you", "Thanks for keeping us safe", "Appreciate you all"]
    for text in texts:
        keys = {d.key for d in drafts_for(text, "compliment")}
        assert not keys & {
            "compliment.dispatch",
            "compliment.event",
            "compliment.crews",
            "compliment.officers",
        }


@pytest.mark.parametrize("text", CRITICISMS)
def test_criticism_is_acknowledged_without_thanks_and_gets_a_direct_channel(text: str) -> None:
    drafts = drafts_for(text, "criticism")
    assert len(drafts) == MAX_DRAFTS
    for draft in drafts:
        assert not THANKS_FOR_PRAISE.search(draft.text), draft.text
        assert CHANNEL.search(draft.text), draft.text
    assert any(word in drafts[0].text.lower() for word in ("sorry", "hear", "understand", "read"))


@pytest.mark.parametrize("text", QUESTIONS)
def test_questions_point_to_the_right_place_without_inventing_an_answer(text: str) -> None:
    drafts = drafts_for(text, "question", faqs=[])
    assert len(drafts) == MAX_DRAFTS
    for draft in drafts:
        assert any(p in draft.text for p in (AGENCY["website"], AGENCY["phone"], "direct message")), (
            draft.text
        )


def test_a_records_question_gets_the_records_page() -> None:
    drafts = drafts_for("Where do I get a copy of the accident report?", "question", faqs=[])
    assert drafts[0].key.startswith("question.records")
    assert AGENCY["records_url"] in drafts[0].text


@pytest.mark.parametrize("text", OTHERS)
def test_other_posts_get_neutral_drafts(text: str) -> None:
    for draft in drafts_for(text, "other"):
        assert not re.search(r"kind words|made our day|sorry", draft.text, re.IGNORECASE)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("someone is breaking into my neighbor's car right now", "question"),
        ("thanks for all you do, also there's a man with a gun at the mall", "compliment"),
        ("you never come when called and now there's a fight outside my house", "criticism"),
        ("How do I get a police report? my ex is threatening to kill me", "question"),
    ],
)
def test_urgent_posts_lead_every_draft_with_911(text: str, category: domain.Category) -> None:
    drafts = drafts_for(text, category, urgent=True)
    assert drafts
    assert drafts[0].key.startswith("urgent.")
    for draft in drafts:
        assert draft.text.startswith(URGENT_LEAD), draft.text
        assert not re.search(r"kind words|thank you for", draft.text, re.IGNORECASE)
        assert fits(draft.text, spec("x").rules)


def test_urgent_criticism_is_still_acknowledged_after_the_911_line() -> None:
    drafts = drafts_for(
        "You never come when called and now there's a fight outside my house", "criticism", urgent=True
    )
    assert drafts[0].key.startswith("urgent.")
    assert drafts[1].key.startswith("criticism.")
    assert drafts[1].text.startswith(URGENT_LEAD + " ")
    assert CHANNEL.search(drafts[1].text)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Rest in peace Officer Garcia. EOW 1995. Never forget.", "compliment"),
        ("RIP to a true hero, thank you for your service", "compliment"),
        ("Sending condolences to his family", "other"),
    ],
)
def test_a_post_remembering_the_fallen_gets_no_cheerful_thanks(text: str, category: domain.Category) -> None:
    drafts = drafts_for(text, category)
    assert drafts
    for draft in drafts:
        assert "remembering" in draft.key, draft.key
        assert not re.search(r"made our day|thank you so much|reaching out", draft.text, re.IGNORECASE)


def test_an_unsure_post_gets_the_plain_neutral_drafts_whatever_words_it_holds() -> None:
    """'never forget' in a post the model cannot read is no reason to send condolences."""
    text = "never forget what you did to this neighborhood in 92"
    unsure_scores = {"other": 0.42, "criticism": 0.38, "question": 0.15, "compliment": 0.05}
    drafts = drafts_for(text, "other", scores=unsure_scores)
    assert drafts
    assert all(d.key.startswith("other.") and "remembering" not in d.key for d in drafts)
    assert "remembering" in drafts_for(text, "other")[0].key  # sure of it: the template its words pick


def test_a_rip_off_is_no_death() -> None:
    drafts = drafts_for("$300 for a parking ticket, what a rip off", "other")
    assert drafts
    assert all("remembering" not in d.key for d in drafts)


def test_urgent_without_urgent_templates_still_says_call_911() -> None:
    no_urgent = tuple(t for t in default_pack() if t.category != "urgent")
    drafts = drafts_for("there's a man with a knife outside", "other", urgent=True, templates=no_urgent)
    assert drafts
    assert all(d.text.startswith(URGENT_LEAD) for d in drafts)
    bare = drafts_for("there's a man with a knife outside", "other", urgent=True, templates=())
    assert [d.text for d in bare] == [URGENT_LEAD + " @jane_doe"]  # addressed on X like the rest
    bare_fb = drafts_for(
        "there's a man with a knife outside", "other", urgent=True, templates=(), platform="facebook"
    )
    assert [d.text for d in bare_fb] == [URGENT_LEAD]


def test_an_urgent_template_worded_its_own_way_keeps_the_911_line_first_on_x() -> None:
    own = (
        TemplateSpec(
            key="urgent.shout", category="urgent", text="IF THIS IS AN EMERGENCY, CALL 911 NOW! Do not wait."
        ),
    )
    [draft] = drafts_for("there's a man with a knife outside", "other", urgent=True, templates=own)
    assert draft.text == "IF THIS IS AN EMERGENCY, CALL 911 NOW! @jane_doe Do not wait."


def test_a_torn_compliment_gets_neutral_drafts_not_thanks() -> None:
    """Sarcasm scored as compliment but with real odds of criticism: thanking would be the worst reply."""
    text = "Great job as always, only took you three hours to show up"
    drafts = drafts_for(text, "compliment", scores={"compliment": 0.55, "criticism": 0.4})
    assert drafts
    assert all(not re.search(r"kind words|made our day|recogniz", d.text) for d in drafts)
    assert all(d.key.startswith("other.") for d in drafts)


def test_faq_answer_comes_first_for_a_question_with_its_match() -> None:
    drafts = drafts_for("how can I get a copy of my police report?", "question")
    first = drafts[0]
    assert first.source == "faq"
    assert first.key == "1"
    assert first.match == FAQS[0].question
    assert first.score is not None
    assert first.score > 0.42
    assert (
        first.text
        == "@jane_doe You can request a copy of a police report at https://springfield.example.gov/records."
    )


def test_criticism_gets_an_acknowledgement_before_the_faq_answer() -> None:
    drafts = drafts_for(
        "Three weeks and still no copy of my police report, do you people even read email??", "criticism"
    )
    assert drafts[0].source == "template"
    assert drafts[1].source == "faq"


THANKING_FAQ = [
    FaqEntry(
        1,
        "How do I get a copy of a police report?",
        "Thanks for asking! You can request a copy of a police report at {records_url}.",
    ),
    FaqEntry(2, "How do I pay a parking ticket?", "Great question, we appreciate it."),
]


@pytest.mark.parametrize("category", ["question", "criticism", "other"])
def test_an_faq_answer_that_thanks_loses_its_thanks_when_it_answers_anything_but_praise(
    category: domain.Category,
) -> None:
    """An admin may write "Thanks for asking!" into an answer; an angry post wrapped around the
    question it matches must still not be thanked, and the useful sentence stays."""
    text = (
        "two weeks and no copy of my police report, how do I get a copy of the police report from you clowns"
    )
    drafts = drafts_for(text, category, faqs=THANKING_FAQ)
    answer = next(d for d in drafts if d.source == "faq")
    assert (
        answer.text
        == "@jane_doe You can request a copy of a police report at https://springfield.example.gov/records."
    )
    assert not any(THANKS_FOR_PRAISE.search(d.text) for d in drafts)


def test_an_faq_answer_that_is_all_thanks_is_left_out_for_anything_but_praise() -> None:
    drafts = drafts_for("how do I pay a parking ticket, this is a scam", "criticism", faqs=THANKING_FAQ)
    assert drafts
    assert all(d.source != "faq" for d in drafts)


@pytest.mark.parametrize(
    ("answer", "kept"),
    [
        (
            "Thanks for asking, you can pay online at {website}.",
            "You can pay online at https://springfield.example.gov.",
        ),
        ("Payments post within 5 days, thank you.", "Payments post within 5 days."),
        ("Thanks for asking: {website}", "https://springfield.example.gov"),
        ("We appreciate your patience: payments post within 5 days.", "Payments post within 5 days."),
        (
            "We'd appreciate it if you sent us a direct message with the ticket number.",
            "We'd appreciate it if you sent us a direct message with the ticket number.",
        ),
    ],
)
def test_thanks_inside_an_answer_go_and_what_it_says_stays(answer: str, kept: str) -> None:
    faq = [FaqEntry(2, "How do I pay a parking ticket?", answer)]
    drafts = drafts_for("how do I pay a parking ticket, this is a scam", "criticism", faqs=faq)
    assert f"@jane_doe {kept}" in [d.text for d in drafts if d.source == "faq"]


def test_an_urgent_template_that_thanks_keeps_only_its_call_to_action() -> None:
    own = TemplateSpec("urgent.own", "urgent", "Thank you for telling us. Call 911 now if you are in danger.")
    drafts = drafts_for("someone is breaking into my car right now", "other", urgent=True, templates=(own,))
    assert drafts[0].text.startswith("If this is an emergency, call 911 now.")
    assert not any(THANKS_FOR_PRAISE.search(d.text) for d in drafts)
    assert any("Call 911 now if you are in danger." in d.text for d in drafts)


def test_compliments_never_get_an_faq_answer() -> None:
    drafts = drafts_for("Thanks for helping me get a copy of my police report so fast!", "compliment")
    assert all(d.source != "faq" for d in drafts)


@pytest.mark.parametrize(
    ("missing", "gone"),
    [
        ("records_url", "faq"),  # the FAQ answer needs {records_url}: no half-filled answer
        ("phone", None),
    ],
)
def test_a_draft_is_never_half_filled(missing: str, gone: str | None) -> None:
    variables = {k: v for k, v in AGENCY.items() if k != missing}
    drafts = drafts_for("how can I get a copy of my police report?", "question", variables=variables)
    assert drafts
    for draft in drafts:
        assert "{" not in draft.text
        assert "}" not in draft.text
    if gone:
        assert all(d.source != gone for d in drafts)


def test_no_agency_details_still_gives_drafts_for_every_category() -> None:
    for category in domain.CATEGORIES:
        drafts = drafts_for("hello there", category, variables={}, faqs=[])
        assert drafts, category
        assert all("{" not in d.text for d in drafts)


LONG_ANSWER = (
    "You can request a copy of a police report at {records_url}. "
    "Reports for traffic collisions are usually ready within ten business days of the collision, "
    "and reports for other incidents can take longer while the investigation is still open. "
    "If you were involved in the incident, bring a photo ID when you pick up the report at the front "
    "lobby, which is open weekdays during business hours."
)


def test_a_long_faq_answer_is_cut_at_a_sentence_on_x_and_kept_whole_on_facebook() -> None:
    faqs = [FaqEntry(5, "How do I get a copy of a police report?", LONG_ANSWER)]
    on_x = drafts_for("how do I get a copy of a police report", "question", faqs=faqs)[0]
    assert on_x.source == "faq"
    assert x_weighted_length(on_x.text) <= 280
    assert on_x.text.startswith(
        "@jane_doe You can request a copy of a police report at https://springfield.example.gov/records."
    )
    assert on_x.text.endswith((".", "https://springfield.example.gov"))
    on_facebook = drafts_for(
        "how do I get a copy of a police report", "question", faqs=faqs, platform="facebook"
    )[0]
    assert on_facebook.text.endswith("during business hours.")


def test_an_answer_that_cannot_be_cut_at_a_sentence_is_left_out_on_x() -> None:
    one_sentence = "Reports " + "and more reports " * 30 + "are at {records_url}."
    faqs = [FaqEntry(5, "How do I get a copy of a police report?", one_sentence)]
    drafts = drafts_for("how do I get a copy of a police report", "question", faqs=faqs)
    assert drafts
    assert all(d.source != "faq" for d in drafts)
    assert all(x_weighted_length(d.text) <= 280 for d in drafts)


def test_urgent_lead_fits_by_cutting_sentences() -> None:
    faqs = [FaqEntry(5, "How do I get a copy of a police report?", LONG_ANSWER)]
    drafts = drafts_for(
        "how do I get a copy of a police report, he is hitting me", "question", urgent=True, faqs=faqs
    )
    faq = next(d for d in drafts if d.source == "faq")
    assert faq.text.startswith(URGENT_LEAD + " @jane_doe You can request")
    assert x_weighted_length(faq.text) <= 280


def test_on_x_every_draft_is_addressed_to_its_author_so_two_people_never_get_the_same_text() -> None:
    """X refuses a post that repeats an earlier one: the same template to two people must differ."""
    texts = {}
    for handle in ("jane_doe", "sam_r"):
        drafts = make_drafts(
            triage=domain.Triage(category="question", confidence=0.9, urgent=False, scores={"question": 0.9}),
            text="where do I pick up my impounded car",
            rules=spec("x").rules,
            author_handle=handle,
            author_name="",
            variables={},
            templates=default_pack(),
            faqs=[],
            history=[],
        )
        assert drafts
        assert all(d.text.startswith(f"@{handle} ") for d in drafts)
        texts[handle] = [d.text for d in drafts]
    assert not set(texts["jane_doe"]) & set(texts["sam_r"])
    on_facebook = drafts_for("where do I pick up my impounded car", "question", platform="facebook")
    assert all("@" not in d.text for d in on_facebook)


def test_on_x_an_urgent_draft_still_opens_with_the_911_line() -> None:
    drafts = drafts_for("someone is breaking into my neighbor's car right now", "question", urgent=True)
    assert all(d.text.startswith(URGENT_LEAD + " @jane_doe") for d in drafts)
    assert all(x_weighted_length(d.text) <= 280 for d in drafts)


PAST = PastReply(
    id=41,
    text="@bob_smith Thanks so much, Bob! We'll pass this along to the team.",
    mention_text="Huge thanks to the officers who helped me change my tire on the highway",
    category="compliment",
    author_handle="bob_smith",
    author_name="Bob",
)


def test_a_reply_sent_before_to_a_similar_post_is_offered_for_the_new_author() -> None:
    drafts = drafts_for(
        "Huge thanks to the officers who helped me change a tire", "compliment", history=[PAST]
    )
    assert drafts[0].source == "history"
    assert drafts[0].key == "41"
    assert drafts[0].text == "@jane_doe Thanks so much, Jane! We'll pass this along to the team."
    assert drafts[0].match == PAST.mention_text


def test_an_earlier_reply_is_not_reused_for_another_category_or_an_unlike_post() -> None:
    assert all(
        d.source != "history" for d in drafts_for("Huge thanks to the officers", "criticism", history=[PAST])
    )
    assert all(d.source != "history" for d in drafts_for("Is the road open?", "compliment", history=[PAST]))


def test_an_earlier_reply_that_thanks_is_never_offered_to_a_post_that_is_no_compliment() -> None:
    """Staff once thanked a post filed as "other"; a new post like it is not thanked for it."""
    thanked = PastReply(7, "Thank you so much, we appreciate it!", "gracias a los oficiales", "other", "", "")
    plain = PastReply(8, "We hear you. Send us a direct message.", "gracias a los oficiales", "other", "", "")
    unsure_scores = {"other": 0.45, "compliment": 0.4, "criticism": 0.1, "question": 0.05}
    for history, reused in (([thanked], False), ([thanked, plain], True)):
        drafts = drafts_for(
            "gracias a los oficiales de anoche", "other", scores=unsure_scores, history=history
        )
        assert not any(re.search(r"thank", d.text, re.IGNORECASE) for d in drafts)
        assert any(d.source == "history" for d in drafts) is reused


@pytest.mark.parametrize(
    ("text", "reusable"),
    [
        ("Thanks so much! We'll pass this along.", True),
        ("@bob_smith Thanks!", True),
        ("Thanks! Call us at (555) 010-2000 anytime.", True),  # the agency's own number
        ("Details at https://springfield.example.gov/news anytime.", True),
        ("Thanks Bob, your case number is 26-004512.", False),  # a fact of that case
        ("An officer will be there at 3:30.", False),
        ("Thanks! Also thanks to @officer_dan for his help.", False),  # names someone else
        ("See https://news.example.com/story for more.", False),  # someone else's link
    ],
)
def test_reuse_reply_drops_anything_tied_to_the_earlier_case(text: str, reusable: bool) -> None:
    past = PastReply(1, text, "x", "compliment", "bob_smith", "Bob")
    values = {**AGENCY, "author_handle": "@jane_doe", "author_name": "Jane"}
    assert (reuse_reply(past, values) is not None) is reusable


def test_an_earlier_reply_naming_its_author_is_skipped_when_the_new_name_is_unknown() -> None:
    past = PastReply(1, "Thank you, Bob!", "x", "compliment", "bob_smith", "Bob")
    assert reuse_reply(past, {"author_handle": "@jane", "author_name": ""}) is None
    assert reuse_reply(past, {"author_handle": "@jane", "author_name": "Jane"}) == "Thank you, Jane!"


def test_drafts_are_distinct_even_when_sources_say_the_same_thing() -> None:
    same = "Thanks for asking. Reports and other records can be requested online at {records_url}."
    faqs = [FaqEntry(9, "How do I get a copy of a police report?", same)]
    drafts = drafts_for("how do I get a copy of a police report", "question", faqs=faqs)
    texts = [d.text.casefold() for d in drafts]
    assert len(texts) == len(set(texts))


def test_drafts_are_deterministic_and_vary_between_posts() -> None:
    text = "You all are the best, thank you"
    assert drafts_for(text, "compliment") == drafts_for(text, "compliment")
    firsts = {drafts_for(f"Thank you so much, post number {i}", "compliment")[0].key for i in range(40)}
    assert len(firsts) >= 3
