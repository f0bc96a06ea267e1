"""X's weighted length finds URLs as twitter-text does: a URL ends where its path may not go on.

Every URL weighs 23, so a URL taken too far hides what follows it from the count: a Chinese reply
"… https://lapd.gov/permits，如有其他问题…" counted 60 when X counts 358 and refuses the post.
The cases marked "conformance" are twitter-text's own (conformance/extract.yml, validate.yml).
"""

from __future__ import annotations

import time

import pytest

from connectors.registry import spec
from handlers.text import fits, urls, x_weighted_length

CJK_REPLY = (
    "@jane 您好！停车许可证的申请方法请见 https://lapd.gov/permits，如有其他问题请拨打非紧急电话或直接私信我们，"
    "我们会尽快回复您。感谢您的耐心与理解，我们会继续为社区提供帮助。我们也会在官网上发布更多信息，欢迎随时查看。"
    "再次感谢您的来信，祝您生活愉快，平安顺利。停车许可证的申请方法和所需材料请见官网，如有其他问题请拨打非紧急电话"
    "或直接私信我们，我们会尽快回复您。"
)


def test_a_url_followed_by_cjk_without_a_space_ends_at_the_cjk() -> None:
    assert urls(CJK_REPLY) == ["https://lapd.gov/permits"]
    assert x_weighted_length(CJK_REPLY) == 358
    assert not fits(CJK_REPLY, spec("x").rules)


@pytest.mark.parametrize(
    ("text", "found", "weight"),
    [
        ("见 https://lapd.gov/permits，谢谢", ["https://lapd.gov/permits"], 3 + 23 + 6),
        ("请见https://lapd.gov/permits。", ["https://lapd.gov/permits"], 4 + 23 + 2),
        ("https://lapd.gov，谢谢", ["https://lapd.gov"], 23 + 6),
        ("请见 lapd.gov/permits，谢谢", ["lapd.gov/permits"], 5 + 23 + 6),
        ("请见lapd.gov", ["lapd.gov"], 4 + 23),  # without http://, only the ASCII part links
        ("Apply at https://lapd.gov/permits🚓🚓", ["https://lapd.gov/permits"], 9 + 23 + 4),
        ("https://lapd.gov🚓", ["https://lapd.gov"], 25),
        ("See https://lapd.gov/permits!!! Thanks", ["https://lapd.gov/permits"], 4 + 23 + 10),
        ("(https://lapd.gov/a_(b))", ["https://lapd.gov/a_(b)"], 1 + 23 + 1),
        ("Info: https://lapd.gov/señal-vía, gracias", ["https://lapd.gov/señal-vía"], 6 + 23 + 9),
        ("https://ru.wikipedia.org/wiki/Полиция。", ["https://ru.wikipedia.org/wiki/Полиция"], 25),
        ("https://lapd.gov/a?b=1&c=2」", ["https://lapd.gov/a?b=1&c=2"], 25),
        ("visit lapd.museum today", ["lapd.museum"], 6 + 23 + 6),  # any IANA top-level domain
        ("http://localhost/x", [], 18),  # no top-level domain: plain text to X
        ("records@lapd.gov", [], 16),
    ],
)
def test_a_url_ends_where_twitter_text_ends_it(text: str, found: list[str], weight: int) -> None:
    assert urls(text) == found
    assert x_weighted_length(text) == weight


@pytest.mark.parametrize(
    ("text", "found"),
    [  # conformance: extract.yml, urls
        ("http://ああ.com", ["http://ああ.com"]),
        ("test http://example.comだよね.comtest/hogehoge", ["http://example.com"]),
        ("text http://en.wikipedia.org/wiki/Primer_(film)", ["http://en.wikipedia.org/wiki/Primer_(film)"]),
        ("text http://xo.com/~matthew+%ff-,.;x", ["http://xo.com/~matthew+%ff-,.;x"]),
        ("text http://foo.com?#foo text", ["http://foo.com?#foo"]),
        ("text http://no-tld", []),
        ("text http://domain.com-that-you-should-have-put-a-space-after", []),
        ("(http://twitter.com", ["http://twitter.com"]),
        (
            "foo.baz foo.co.jp www.xxxxxxx.baz www.foo.co.uk wwwww.xxxxxxx foo.comm foo.somecom foo.govedu foo.jp",
            ["foo.co.jp", "www.foo.co.uk", "foo.jp"],
        ),
        (
            "Go to http://example.com/a+ or http://example.com/a-",
            ["http://example.com/a+", "http://example.com/a-"],
        ),
        (
            "Go to https://en.m.wikipedia.org/wiki/Hatfield–McCoy_feud please",
            ["https://en.m.wikipedia.org/wiki/Hatfield–McCoy_feud"],
        ),
        (
            "これは日本語です。example.com/path/index.html中国語example.com/path한국",
            ["example.com/path/index.html", "example.com/path"],
        ),
        (
            "http://twitter.com/これは日本語です。example.com中国語http://t.co/abcde한국twitter.comテストexample2.comテスト"
            "http://twitter.com/abcde",
            [
                "http://twitter.com/",
                "example.com",
                "http://t.co/abcde",
                "twitter.com",
                "example2.com",
                "http://twitter.com/abcde",
            ],
        ),
        ("Go to http://twitter.com/Русские_слова", ["http://twitter.com/Русские_слова"]),
        ("Hello http://xn--はじめよう.com/index.html", []),
        ("test http://a_b.c-d.com", ["http://a_b.c-d.com"]),
        ("test http://twitter_underscore.com", []),
        ("test ELPAÍS.com", ["ELPAÍS.com"]),
        ("test http://twitter.com/.", ["http://twitter.com/"]),
        ("Test a ton of periods http://example.com/path" + "." * 40, ["http://example.com/path"]),
        ("#test.com @test.com #http://test.com @http://test.com #t.co/abcde @t.co/abcde", []),
        ("I really like http://t.co/pbY2NfTZ's website", ["http://t.co/pbY2NfTZ"]),
        ("I really like http://t.co/abcdefghijklmnopqrstuvwxyz012345678901234", []),
        ("example.comてすとですtwitter.みんなです", ["example.com", "twitter.みんな"]),
        ("$http://twitter.com $twitter.com $http://t.co/abcde $t.co/abcde $t.co $TVI.CA $RBS.CA", []),
        ("long.test.tar.bz2 test.tar.bz2 tar.bz2", []),
        ("john.doe.gov@mail.com", []),
        ("Email me at name.al-lastname@foo.com or name.al+lastname@foo.com", []),
        ("@user Try http://\xa0example.com/path", ["example.com/path"]),
    ],
)
def test_conformance_urls(text: str, found: list[str]) -> None:
    assert urls(text) == found


LONG_LABEL = "somesuperlongurl" * 8  # 128 characters: too long for one DNS label


@pytest.mark.parametrize(
    ("text", "weight"),
    [  # conformance: validate.yml, WeightedTweetsWithDiscountedEmojiCounterTest
        ("Hi http://test.co", 26),
        ("http://test.co", 23),
        ("285 chars- http://www.twitter.com/jack " + "xxxxxxxxxx-" * 24, 299),
        ("xxxxxxxxxx-" * 24 + " http://www.twitter.com/jack ", 289),
        ("https://www.twitter.com/aloha " * 10, 240),
        ("randomurlrandomurlrandomurlrandomurlrandomurlrandomurlrandomurls.com", 68),
        ("あいうえおかきくけこ" * 12 + " http://" + "あいうえおかきくけこ" * 5 + "あいう.com", 358),
        ("あいうえおかきくけこ" * 12 + " http://" + "あいうえおかきくけこ" * 5 + "あい.com", 264),
        (f"a https://{LONG_LABEL}.com/foo https://validurl.com", 2 + 8 + 128 + 8 + 1 + 23),
        ("H🐱☺👨\u200d👩\u200d👧\u200d👦", 7),
    ],
)
def test_conformance_weighted_length(text: str, weight: int) -> None:
    assert x_weighted_length(text) == weight


@pytest.mark.parametrize(
    "text",
    [
        "警" * 2990 + "a.b",
        "a.b" + "警" * 2990,
        ("警" * 20 + "a.") * 140,
        ("警" * 20 + "https://lapd.gov/x，") * 100,
        ("警" * 20 + "lapd.gov/x，") * 100,
        "qqq." * 750,
        "🚓." * 1000,
        "https://example.gov/" + "(a" * 1000,
        "#" + "警" * 2990 + "a.b",
    ],
)
def test_the_longest_form_input_is_measured_quickly(text: str) -> None:
    """The edit form checks every submission; trying each position of a long run made one cost
    a second."""
    x_weighted_length("see lapd.gov")  # the URL patterns are compiled on first use
    started = time.perf_counter()
    x_weighted_length(text)
    assert time.perf_counter() - started < 0.1
