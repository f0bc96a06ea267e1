"""Hand-built cues that a few hundred handwritten examples cannot teach a bag of words alone.

Each cue is a general pattern of how people write to a police account (thanks, requests,
sarcasm, insults, link shares, talk aimed at somebody else). The classifier feeds them next to
TF-IDF n-grams and a sentence vector. VADER's sentiment scores were fed too until leaving one
batch of examples out showed they added nothing (0.776 with and without them) while taking a
third of the time per post.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence


def _rx(*patterns: str) -> re.Pattern[str]:
    # Patterns are matched against lower-cased text: IGNORECASE makes Python's re several times slower.
    return re.compile("|".join(f"(?:{p})" for p in patterns))


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# A bare "example.com/page" starts a word (after a space, or an opening bracket or quote): found
# from anywhere inside a long run without spaces, it took time quadratic in the run's length
# (25,000 characters of "a.": 16 s).
URL = _rx(r"https?://\S+", r"\bwww\.\S+", r"(?<!\S)[(\[\"']?\S+?\.(?:com|org|net|gov|ly|co)/\S*")
HANDLE = re.compile(r"@\w+")
HASHTAG = re.compile(r"#\w+")
WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)

PRAISE = _rx(
    r"\bthank(?:s| you| u|ful)\b",
    r"\bty\b",
    r"\bthx\b",
    r"\bgreat (?:job|work|catch|team)\b",
    r"\b(?:good|nice|awesome|amazing|excellent|outstanding|fantastic|fine|incredible) (?:job|work|catch|police ?work|team|people)\b",
    r"\bjob well done\b",
    r"\bwell done\b",
    r"\bcongrat(?:s|ulations|ulation)?\b",
    r"\bkudos\b",
    r"\bheroe?s?\b",
    r"\bproud\b",
    r"\bappreciat(?:e|ed|ion)\b",
    r"\bgrateful\b",
    r"\bbless(?:ed|ings)?\b",
    r"\bgod bless\b",
    r"\bstay safe\b",
    r"\bsupport (?:you|our|the|law)\b",
    r"\bback the blue\b",
    r"\bbacktheblue\b",
    r"\bthin blue line\b",
    r"\bbravo\b",
    r"\bsalute\b",
    r"\bfinest\b",
    r"\bbest (?:department|police|pd|cops?|officers?)\b",
    r"\bshout ?out\b",
    r"\bwelcome (?:home|back|to)\b",
    r"\bhappy (?:retirement|birthday|holidays|new year|thanksgiving|anniversary)\b",
    r"\bmerry christmas\b",
    r"\brest in peace\b",
    r"\brip\b",
    r"\bcondolences\b",
    r"\bprayers?\b",
)
PRAISE_EMOJI = frozenset("🙏👏💙❤🫡💪🇺🇸🙌💯")
REQUEST = _rx(
    r"\bplease\b",
    r"\bpls\b",
    r"\bplz\b",
    r"\bcan (?:someone|somebody|anyone|you|u|y'?all|i|we)\b",
    r"\bcould (?:someone|somebody|anyone|you|u|i|we)\b",
    r"\bwould (?:someone|somebody|you|u)\b",
    r"\bwill (?:someone|somebody|you|u)\b",
    r"\b(?:look|looking) into\b",
    r"\bsend (?:someone|somebody|an officer|officers|a unit|a car|help|patrol)\b",
    r"\bneed (?:help|someone|an officer|police|assistance|to report|to know)\b",
    r"\bhelp (?:me|us|find|locate|identify)\b",
    r"\bhow (?:do|can|should|would) (?:i|we|one|you)\b",
    r"\bwhere (?:do|can|should) (?:i|we)\b",
    r"\bwho (?:do|can|should) (?:i|we)\b",
    r"\bis there (?:a|any)\b",
    r"\bany ?(?:one|body) know\b",
    r"\bany (?:update|news|info|information|word)\b",
    r"\bi (?:want|would like|need) to (?:report|know|file)\b",
    r"\b(?:trying|tried) to (?:report|reach|call|file|get)\b",
    r"\b(?:report|reporting) (?:a|an|this)\b",
    r"\bwhat(?:'s| is) (?:the|your) (?:number|process|status|policy|update)\b",
    r"\bwhy (?:is|are|was|were|did|does|do)\b",
    r"\bwhen (?:will|is|are|does|do|can)\b",
    r"\bwhat (?:is|are|was|happened|time|should)\b",
    r"\bhow (?:long|much|many|come)\b",
    r"\bwondering\b",
    r"\bfollow ?up\b",
    r"\bpatrol\b",
    r"\bdm(?:'?ed)?\b",
)
# A request strong enough that a thank-you reply would ignore what the writer asked for.
ASKING = _rx(
    r"\b(?:please|pls|plz) (?:help|let (?:us|me) know|look|check|find|identify|send|contact|call|dm)\b",
    r"\b(?:can|could|would) (?:someone|somebody|anyone|you|u)\b",
    r"\blet (?:us|me) know\b",
    r"\bhow (?:do|can) (?:i|we)\b",
    # a question with no question mark, where a sentence or an "also" starts: "also what's the
    # non emergency number", "when is the next meeting" (not "what a great job")
    r"(?:^|[.!,;:]\s*|\b(?:also|and|but|btw)\s+)(?:what|when|where|who|how|which)(?:'s|'re| is| are| do| does| did| can| should| time)\b",
    # "..., what age can he join", "which form do I need": a question word and its noun
    r"(?:^|[.!,;:]\s*|\b(?:also|and|but|btw)\s+)(?:what|which) (?:age|time|day|days|hours|year|number|kind|type|form|forms|paperwork|documents?|website|office|station|app) (?:is|are|do|does|can|should|would|will|did)\b",
    r"(?:^|[.!,;:]\s*|\b(?:also|and|but|btw)\s+)(?:is|are|can|could|do|does|will|would) (?:there|you|u|i|we|the|it|anyone|someone|somebody|y'all|yall)\b",
)
SARCASM = _rx(
    r"\bthanks? for nothing\b",
    r"\bthank you for nothing\b",
    r"\bthanks? (?:you )?for (?:waking|ruining|scaring|wasting|letting (?:him|her|them) go|nothing|absolutely nothing)\b",
    r"\b(?:a little|bit|too) late\b",
    r"\bgreat job\W*(?:\.\.\.|…)?\s*not\b",
    r"\bgood job\W*(?:\.\.\.|…)?\s*not\b",
    r"\b(?:great|good|nice|awesome|fantastic|stellar|amazing) (?:job|work)\b[^.!?]{0,40}\b(?:lol|lmao|smh)\b",
    r"\bnice try\b",
    r"\bsure (?:you|u) (?:did|do|are|will)\b",
    r"\byeah right\b",
    r"\b(?:really )?(?:great|good|nice) to know\b.{0,30}(?:not|lol|🙄)",
    r"\bslow clap\b",
    r"\bwow,? (?:just )?wow\b",
    r"\bwhat a (?:joke|surprise|shock)\b",
    r"\bshocker\b",
    r"\bcolor me (?:shocked|surprised)\b",
    r"\bimagine (?:that|my surprise)\b",
    r"\bonly took\b",
    r"\bthanks? for (?:the|your) (?:late|useless|delayed)\b",
    r"\b(?:hours?|days?|minutes?|mins?) (?:late|later|too late)\b",
)
# Praise told together with the agency failing: "great job, another car stolen and nobody came".
# Only the compliment guard reads these (not the model), so a sarcastic thank-you is never
# answered with thanks; genuine thanks rarely come with an account of inaction.
FAILURE = _rx(
    # "nobody came", but not "nobody did more for us" or "no one helped faster than you"
    r"\b(?:nobody|no one|no-one|noone) (?:ever )?(?:came|comes|showed up|shows up|answered|answers|responded|responds|called (?:me )?back|calls back|helped)\b(?!\s+(?:more|better|faster|quicker|sooner|else|as|like|than|\w+er\b))",
    r"\b(?:doing|did|does|do) (?:absolutely |literally |jack |squat )?nothing\b",
    r"\b(?:\d+|an?|one|two|three|four|five|six|several)[- ](?:hours?|hrs?)[- ](?:wait|on hold|hold|later|response)\b",
    r"\bwait(?:ed|ing)? (?:for )?(?:over |almost )?(?:\d+|an?|two|three|four|five|six) (?:hours?|hrs?)\b",
    r"\bstill waiting\b",
    r"\b(?:only|just) took (?:\d+|an?|two|three|four|five|six) (?:hours?|hrs?|days?|weeks?)\b",
    # any wait of hours or more: "took 2 days to call me back", "took y'all 3 hours"
    r"\btook (?:you |y'all |yall |them |u )?(?:over |almost |nearly |like )?(?:\d+|an?|two|three|four|five|six|seven|several|a few|many) (?:hours?|hrs?|days?|weeks?|months?)\b",
    # a ticket or fine with its price: "$400 ticket", "my $150 parking tickets", "200 dollar fine"
    r"(?:\$ ?\d[\d,.]*k?|\b\d[\d,]* (?:dollars?|bucks))(?: [a-z-]+){0,2}? (?:tickets?|fines?|citations?)\b",
    r"\bletting\b[^.!?]{0,30}\b(?:get|go|be|walk) (?:away|free|stolen|robbed|broken|vandalized)\b",
    r"\bletting (?:them|people|those \w+|these \w+|thieves|looters|rioters|criminals|thugs|kids|racers) (?:\w+ )?(?:burn|loot|trash|destroy|smash|tear up|take over|run wild|rob|steal)\w*\b",
    # an officer's conduct: "was rude af", "made fun of my dad's accent", "filed a complaint and
    # heard nothing", "get it together"
    # (not the writer's own: "I was rude to the dispatcher, she stayed so calm")
    r"\b(?<!never )(?<!not )(?<!wasn't )(?<!wasnt )(?<!weren't )(?<!no )(?<!i was )(?<!i was so )(?<!i was really )(?<!even the )(?:rude|disrespectful|unprofessional|condescending|dismissive|belligerent)\b",
    r"\b(?:officers?|cops?|deputy|deputies|sergeant|sgt|detective|dispatcher|he|she|they|y'?all|you|u) (?:\w+ )?(?:made fun of|laughed at|mocked|yelled at|screamed at|cursed at|swore at) (?:me|my|us|our)\b",
    r"\b(?:heard nothing|never heard back|no (?:one|body) (?:ever )?followed up)\b",
    r"\bget (?:it|your act|your shit|your stuff) together\b",
    # the same trouble again and nothing done: "another break-in and still nobody came"
    r"\b(?:again|another)\b[^.!?]{0,60}\b(?:and|but) (?:still )?(?:no|zero|nobody|no one|nothing)\b",
    # "the cops never came" (HOSTILE reads "never come/show/answer"; not "the bus never came")
    r"\b(?:you|u|y'all|yall|they|cops|police|officers|lapd|anybody|anyone|nobody)(?: guys)? never came\b",
)
# Mockery and withdrawn support told alongside praise. Read only by the compliment guard, like
# FAILURE: "great response time… said no one ever", "good job on the tweet, now do your actual
# job", "I used to support you but…", "they actually help people, unlike some departments".
MOCKERY = _rx(
    r"\bsaid no ?(?:one|body)\b",  # "(said no one on Elm St)" too
    r"\bif only (?:the|you|y'all|yall|your|our|they|detectives|officers|cops|police)\b",
    r"\b(?:oh |oops |sorry,? )i mean\b",
    r"\bespecially (?:the part where|the one who|when you)\b",
    # praise set against what went undone: "tweeting cake while there were 6 shootings"
    r"\bwhile (?:there (?:were|was|are|is) (?:\d+|a|another|multiple|several|two|three) (?:shootings?|murders?|homicides?|robberies|carjackings?|break-?ins|stabbings?)|(?:actual|real) crimes?)\b",
    r"\btreat(?:s|ed|ing)? (?:\w+ ){0,3}like (?:a |an |every |common )?(?:suspects?|criminals?|animals?|terrorists?)\b",
    r"\bjust to (?:pepper ?spray|tase|taser|tear ?gas|beat|harass|arrest|ticket|tow)\b",
    r"\bnot (?:ok|okay|cool|acceptable)\b",
    # "thanks for the update that says absolutely nothing", "best thing you did all year. low bar"
    r"\b(?:says|said|tells us|told us|means|explains|explained) (?:absolutely |literally |exactly )?nothing\b",
    r"\b(?:low|lowest) bar\b|\bbar is (?:on the floor|in hell|so low)\b",
    # officers idle set against what goes on meanwhile: "sitting in the lot while people drag race"
    # (not "thank you for patrolling while thieves steal converters", which is thanks)
    r"\b(?:sitting|sat|parked|parking|hanging out|chilling|eating|napping|sleeping|posing|posting|tweeting|taking (?:selfies|photos|pictures)|at the (?:donut|coffee) shop)\b[^.!?]{0,60}\bwhile (?:people|kids|drivers|thieves|criminals|cars|someone|somebody|they|dealers|racers) (?:\w+ ){0,2}?(?:drag race|street race|race|rob|steal|break into|speed|do donuts|loot|shoot|deal|sell drugs)\w*\b",
    r"\bnow do (?:your|ur) jobs?\b",
    r"\b(?:your|ur) (?:actual|real) jobs?\b",
    # "by great work I mean…", "best department in the world at looking the other way"
    r"\bby (?:great|good|amazing|awesome|excellent|hard) (?:work|job)s? (?:i|we) mean\b",
    r"\b(?:best|greatest|finest|top)\b[^.!?]{0,40}\bat (?:ignoring|looking the other way|doing nothing|harass\w*|profiling|writing tickets|giving (?:out )?tickets|ticketing|showing up late|never showing up|collecting overtime|sleeping|hiding)\b",
    # praise for an abusive act: "so proud of our police for teargassing teenagers"
    r"\b(?:thanks?|thank you|proud of (?:you|y'all|our \w+)|great job|good job|great work|well done|bravo|appreciate (?:you|it|y'all))\b[^.!?]{0,30}\bfor (?:tear ?gassing|pepper ?spraying|tasing|beating|harassing|profiling|shooting (?:at )?(?:kids|teens|protesters|unarmed)|treating \w+(?: \w+)? like (?:a )?criminals?|arresting (?:kids|teens|children|the homeless|homeless))\b",
    r"\b(?:city|streets?|world|we) (?:is|are) (?:finally )?(?:saved|safe now)\b",
    r"\bi used to (?:support|respect|trust|defend|back|like|love|believe in)\b",
    # a criticism's courteous opening, sarcasm announced, thanks for nothing in Spanish
    r"\bwith (?:all due|due|all) respect\b",
    r"\b(?<!not )(?<!no )(?:sarcasm|sarcastic(?:ally)?)\b",
    r"\bgracias por nada\b",
    r"\b(?:didn'?t|did not|don'?t|do not) need (?:sleep|my sleep|to sleep|that sleep)\b",
    # thanks set against a disaster meanwhile: "for protecting the parking lot while Echo Park burned"
    r"\b(?:thanks?|thank you|great job|good job|nice work|well done)\b[^.!?]{0,80}\bwhile (?:\w+ ){1,4}(?:burn(?:s|ed|ing)?|(?:got|get|gets|was|were) (?:robbed|looted|shot|stabbed|carjacked)|is looted|was looted)\b",
    r"\bunlike (?:you|u|y'all|yall|the (?:cops|police|lapd)|some (?:other )?(?:people|departments|agencies|cops|officers))\b",
)
# An upside-down face after praise is irony, not thanks.
MOCKERY_EMOJI = frozenset("🙃")
SARCASM_EMOJI = frozenset("🙄🤡🤣🥱")
SARCASM_TAG = re.compile(r"(?:^|\s)/s\b")  # kept apart: without a leading \b it slows SARCASM 5x
HOSTILE = _rx(
    r"\bpigs?\b",
    r"\bacab\b",
    r"\b1312\b",
    r"\bfuck\w*\b",
    r"\bf\*+k\w*\b",
    r"\bshit\w*\b",
    r"\bdamn\b",
    r"\bcrap\b",
    r"\bbs\b",
    r"\bbullshit\b",
    r"\bcorrupt\w*\b",
    r"\buseless\b",
    r"\bworthless\b",
    r"\bincompeten\w*\b",
    r"\bdisgrac\w*\b",
    r"\bshame(?:ful)?\b",
    r"\bpathetic\b",
    r"\bjoke\b",
    r"\bclowns?\b",
    r"\bcowards?\b",
    r"\bthugs?\b",
    r"\bgang\b",
    r"\bfascis\w*\b",
    r"\bracis\w*\b",
    r"\bbrutal\w*\b",
    r"\bmurder\w*\b",
    r"\bkill(?:ed|ing|ers?)\b",
    r"\babuse\w*\b",
    r"\bharass\w*\b",
    r"\bdefund\b",
    r"\babolish\b",
    r"\bwhere (?:were|was) (?:you|u|the police|lapd|the cops)\b",
    r"\bdo (?:your|ur) (?:job|jobs)\b",
    r"\bnever (?:show|come|answer|respond)\w*\b",
    r"\bdidn'?t (?:even )?(?:show|come|respond|answer|do anything)\b",
    r"\bdon'?t (?:even )?(?:show|come|respond|answer|do anything|care)\b",
    r"\bnothing (?:was|is|gets?) done\b",
    r"\bno one (?:came|showed|answered|responded)\b",
    r"\bwaste of\b",
    r"\bterrible\b",
    r"\bawful\b",
    r"\bridiculous\b",
    r"\bunacceptable\b",
    r"\bembarrass\w*\b",
    r"\bliars?\b",
    r"\blying\b",
    r"\bcover ?up\b",
    r"\bsmh\b",
)
# Questions that accuse rather than ask: a PIO answers these as criticism.
RHETORICAL = _rx(
    r"\bwhy (?:should|would|do|does|did|are|is|were|was) (?:we|i|anyone|you|y'?all|u|they|the (?:police|lapd|cops))\b[^?]{0,60}\b(?:even|still|always|never|only|just)\b",
    r"\bhow about (?:you|u|y'?all)\b",
    r"\bare (?:you|u|y'?all) (?:even|seriously|really|kidding|joking|serious|for real|ok)\b",
    r"\bdo (?:you|u|y'?all) (?:even|actually|ever|really) (?:care|work|do|read|answer|respond|show)\b",
    r"\bwhat (?:are|do) (?:you|u|y'?all) (?:even|actually|guys even) (?:doing|do)\b",
    r"\bwhat(?:'s| is) the point of (?:you|u|y'?all|calling|reporting|the police|lapd)\b",
    r"\bhow hard (?:is|can) it\b",
    r"\bhow (?:is|was) (?:this|that|it) (?:ok|okay|acceptable|legal|allowed|possible|fair)\b",
    r"\bhow (?:do|can) (?:you|u|y'?all) (?:sleep|live with|justify|call yourselves|look)\b",
    r"\bwhere (?:is|was|are|were) (?:the|my|our) (?:police|cops|lapd|officers?|help|tax money|accountability|response)\b",
    r"\bwho (?:do|does) (?:you|u|y'?all|they) think\b",
    r"\bwhy (?:tf|the hell|the fuck|on earth)\b",
    r"\bis (?:this|that) (?:a joke|for real|how you)\b",
    r"\bwhat(?:'s| is) wrong with (?:you|u|y'?all|this department|lapd)\b",
)
AGENCY = _rx(
    r"\byou(?:r|rs|'re|'ve| guys| all|'?ll)?\b",
    r"\by'?all\b",
    r"\bu\b",
    r"\bur\b",
    r"\blapd\w*\b",
    r"\bpolice\b",
    r"\bcops?\b",
    r"\bofficers?\b",
    r"\bdepartment\b",
    r"\bdept\b",
    r"\bpd\b",
    r"\bchief\b",
    r"\bsergeant\b",
    r"\bsgt\b",
    r"\bdetectives?\b",
    r"\bdispatch\w*\b",
    r"\b911\b",
)
THIRD_PARTY = _rx(
    r"\bmayor\b",
    r"\bcouncil\w*\b",
    r"\bgovernor\b",
    r"\bnewsom\b",
    r"\bbass\b",
    r"\bgasc[oó]n\b",
    r"\bda\b",
    r"\bdistrict attorney\b",
    r"\bjudges?\b",
    r"\bbiden\b",
    r"\btrump\b",
    r"\bdemocrats?\b",
    r"\brepublicans?\b",
    r"\bliberals?\b",
    r"\bmedia\b",
    r"\barrest (?:him|her|them|this|that|these|those|the)\b",
    r"\block (?:him|her|them) up\b",
    r"\b(?:he|she|they) (?:should|needs? to|must) be (?:arrested|charged|locked|in jail)\b",
    r"\bhang (?:him|her|them)\b",
    r"\bdeport\w*\b",
    r"\b(?:mr|mrs|ms|miss|senator|president|congress(?:wo)?man|candidate)\b",
    # thanks for something done on the platform is talk between users, not praise of the agency
    r"\bthanks? (?:you )?for (?:the )?(?:follow|follows|following|plug|rt|retweet|repost|tag)\b",
)
NEWS = _rx(
    r"\bbreaking\b",
    r"\bjust in\b",
    r"\bvideo:",
    r"\bwatch:",
    r"\bupdate:",
    r"\bdeveloping\b",
    r"\breport(?:s|ed|edly)?:",
    r"\baccording to\b",
    r"\bvia @",
    r"\bby @",
    r"\b(?:latimes|abc7|ktla|nbcla|cbsla|fox11|kcal|foxla|la times|nypost|cnn)\b",
    r"\bread more\b",
    r"\bhere'?s (?:the|what)\b",
)
CASUAL_PEER = _rx(
    r"\blol\b",
    r"\blmao\b",
    r"\blmfao\b",
    r"\bbro\b",
    r"\bdude\b",
    r"\bsis\b",
    r"\bidiot\b",
    r"\bmoron\b",
    r"\bstupid\b",
    r"\bclueless\b",
    r"\bimagine\b",
    r"\bblocked\b",
    r"\bok boomer\b",
    r"\bcope\b",
    r"\bseethe\b",
    r"\b(?:you|u)(?:'re| are) (?:an? )?(?:idiot|moron|clown|troll|bot|liar)\b",
)
FIRST_PERSON_ISSUE = _rx(
    r"\bmy (?:car|house|home|apartment|apt|bike|son|daughter|mom|mother|dad|father|wife|husband|kid|child|brother|sister|neighbor|street|block|neighborhood|phone|wallet|dog|cat|business|store|catalytic)\b",
    r"\bour (?:street|block|neighborhood|car|house|home|business|store|building|community)\b",
    r"\bi (?:called|reported|filed|was|got|have been|am|live|saw|see|just)\b",
    r"\bin (?:my|our) (?:area|neighborhood|street|building)\b",
)

# Common function words of the other languages people write to a US police account in. A post
# counts as another language only on positive evidence (these words, or a non-Latin script),
# never merely because its words are unknown: "Great work Lillian" is English.
SPANISH_WORDS = _word_set(
    "el la los las del que y en un una por para con es está estan están pero muy porque qué "
    "cómo dónde cuando cuándo gracias policía señor ayuda favor hay mi su nos ellos ellas esto "
    "esta este son fue ser sin más todo todos nada tienen hacer aquí allí ya puede vivir se lo "
    "al le les ni yo tu tú usted ustedes nosotros hoy ayer mañana bien mal también sí dios"
)
# The languages the urgency cues cannot read (`unread_language`).
OTHER_FOREIGN_WORDS = _word_set(
    # French
    "le les des et est une dans ce qui pas pour sur avec sont je vous nous il elle ne cette "
    # Portuguese
    "não uma com para os da do das dos você obrigado muito está isso "
    # Tagalog
    "ang ng mga sa ba nang ito ano si ay hindi naman po "
    # German
    "der die das und ist nicht ein eine ich sie wir mit auf für"
)
FOREIGN_WORDS = SPANISH_WORDS | OTHER_FOREIGN_WORDS
ENGLISH = _word_set(
    "the a an and or but to of in on at for with from by is are was were be been being am i you "
    "he she it we they me my your our their his her this that these those not no yes do does did "
    "have has had will would can could should what who why how when where there here if so just "
    "all any some one up out about get got like as its it's i'm don't dont im u ur lol please "
    "thank thanks police cops lapd people man him them us go good great job work"
)
EMOJI_CATEGORIES = frozenset({"So", "Sk", "Cs"})

# Left out on purpose, after trying them: post length (our handwritten examples are two to three
# times shorter than real posts, so length taught the model the wrong thing) and an
# interrogative first word (real complaints open with "why" and "how" as often as questions do).
DENSE_NAMES = (
    "qmark",
    "request",
    "praise",
    "sarcasm",
    "hostile",
    "agency",
    "third_party",
    "news",
    "url",
    "peer",
    "first_person_issue",
    "exclaim",
    "caps",
    "emoji_only",
    "foreign",
    "praise_and_negative",
    "rhetorical",
    "question_and_negative",
)


def _lower(text: str) -> str:
    return text.lower().replace("’", "'")


def words(text: str) -> list[str]:
    return WORD.findall(HANDLE.sub(" ", URL.sub(" ", _lower(text))))


def _is_latin(c: str) -> bool:
    # Latin letters live below U+0250 (with accents) or in the Latin Extended Additional block.
    return ord(c) < 0x250 or 0x1E00 <= ord(c) <= 0x1EFF


# Words of short posts in other languages ("¡Gracias!", "Muchas gracias oficiales") that the
# function-word count above cannot see. Read only by `all_foreign`, not by the model.
SHORT_FOREIGN = _word_set(
    "gracias muchas muchos mucho oficial oficiales policias policías hola buenos buenas días dias "
    "noches amigo amigos gente calle casa carro nunca siempre vienen excelente bendiciones "
    "felicidades obrigada ajuda merci beaucoup danke vielen dank hilfe grazie salamat "
    # Vietnamese and more Portuguese: a post in them should not pass for English
    "với có người đang tôi không của và là một những cứu giúp nhà tem homem agora frente escola socorro "
    "meu minha na"
)


_ALL_FOREIGN = FOREIGN_WORDS | SHORT_FOREIGN
# More words of those languages, read only by `unread_language` (not by the model).
_OTHER_WORDS = OTHER_FOREIGN_WORDS | _word_set(
    "obrigada ajuda merci beaucoup danke vielen dank hilfe grazie salamat mon ma mes au aux du chez "
    "homme maison secours meu minha socorro haus mein meine unser unsere jemand tulong tulungan "
    "bahay namin kami niyo ninyo với có người đang tôi không của và là một những cứu giúp nhà tem "
    "homem agora frente escola "
    # everyday words of a call for help in them, and in Italian, Polish and Haitian Creole
    "moi toi quelqu'un aidez vite bitte helfen jetzt schnell hier polizei kind ajudem aqui polícia "
    "tulungan dito na alguém alguem aiuto mio mia polizia sono pomocy ktoś się jest nie policja mwen lakay yon anmwe"
)


def all_foreign(text: str, tokens: list[str] | None = None) -> bool:
    """A short post in another language: no English word, and most words plainly foreign."""
    tokens = words(text) if tokens is None else tokens
    if not tokens or any(t in ENGLISH for t in tokens):
        return False
    known = sum(1 for t in tokens if t in _ALL_FOREIGN)
    return (
        known > 0
        and known + sum(1 for t in tokens if t not in _ALL_FOREIGN and not t.isascii()) > len(tokens) / 2
    )


def unread_language(text: str, foreign: bool | None = None) -> bool:
    """A post in another language than the two the urgency cues read (English and Spanish): a
    non-Latin script, or more French/Portuguese/Tagalog/German function words than Spanish ones,
    or two different everyday words of those languages (or Italian, Polish, Haitian Creole) and
    more of them than English words. `foreign`: whether the post already reads as another language
    (`foreign_share` at least 0.5, or `all_foreign`), when the caller has worked it out."""
    if _mostly_non_latin(text):
        return True
    tokens = words(text)
    if foreign is None:
        foreign = foreign_share(text, tokens) >= 0.5 or all_foreign(text, tokens)
    if not (foreign or _reads_other(tokens)):
        return False
    # words both languages use ("un", "para") count for neither
    tokens = [t for t in tokens if (t in _ALL_FOREIGN or t in _OTHER_WORDS) and t not in ENGLISH]
    other = sum(1 for t in tokens if t in _OTHER_WORDS and t not in SPANISH_WORDS)
    spanish = sum(1 for t in tokens if t not in _OTHER_WORDS)
    return other > spanish


def _reads_other(tokens: list[str]) -> bool:
    """Two different words of the other languages and more of them than English words: the model's
    function words miss everyday ones ("Jemand bricht in mein Haus ein, Hilfe", "au secours")."""
    other = [t for t in tokens if t in _OTHER_WORDS and t not in ENGLISH]
    # two different words: "merci merci merci to the K9 team" is English with a loanword
    return len(set(other)) >= 2 and len(other) > sum(1 for t in tokens if t in ENGLISH)


def _mostly_non_latin(text: str) -> bool:
    if text.isascii():  # ASCII letters are all Latin
        return False
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(1 for c in letters if not _is_latin(c)) / len(letters) > 0.5


def foreign_share(text: str, tokens: list[str] | None = None) -> float:
    """How much of a text reads as another language: 0 plainly English, 1 plainly not."""
    if _mostly_non_latin(text):
        return 1.0
    tokens = words(text) if tokens is None else tokens
    foreign = sum(1 for t in tokens if t in FOREIGN_WORDS and t not in ENGLISH)
    if foreign < 2:
        return 0.0
    english = sum(1 for t in tokens if t in ENGLISH)
    if foreign <= english:
        return 0.0
    return min(1.0, foreign / (foreign + english) + 0.25)


def is_emoji_only(text: str) -> bool:
    stripped = HASHTAG.sub("", HANDLE.sub("", URL.sub("", text)))
    chars = [c for c in stripped if not c.isspace()]
    if not chars or any(c.isalnum() for c in chars):
        return False
    return all(
        unicodedata.category(c) in EMOJI_CATEGORIES or unicodedata.category(c).startswith(("P", "M", "C"))
        for c in chars
    )


# Skin tones, the flag's regional letters and the joiners that build one emoji from several.
_EMOJI_PARTS = frozenset(chr(c) for c in (0x200D, 0xFE0F, *range(0x1F3FB, 0x1F400), *range(0x1F1E6, 0x1F200)))


# Prayer hands and "100" alone say too little: 🙏 under a post about a victim is a prayer for
# them, and 💯 agrees with whatever was said last, often by another user. Four of the five such
# posts our writers labelled were "other" (the fifth was 🙏🙏🙏); with a heart, applause or a
# salute beside them they were support every time.
AMBIGUOUS_EMOJI = frozenset("🙏💯")


def _emoji_chars(text: str) -> list[str]:
    return [c for c in HANDLE.sub("", text) if not c.isspace() and c not in _EMOJI_PARTS]


def only_praise_emoji(text: str) -> bool:
    """A reaction of hearts, applause or a salute alone ("❤️", "👏👏", "🙏💙"): support."""
    chars = _emoji_chars(text)
    return bool(chars) and all(c in PRAISE_EMOJI for c in chars) and not only_ambiguous_emoji(text)


def only_ambiguous_emoji(text: str) -> bool:
    """Prayer hands or "100" alone ("🙏", "💯💯"): support, a prayer or agreement, nobody can say."""
    chars = _emoji_chars(text)
    return bool(chars) and all(c in AMBIGUOUS_EMOJI for c in chars)


def _count(pattern: re.Pattern[str], text: str) -> float:
    return min(3.0, float(len(pattern.findall(text))))


def _emoji(chars: frozenset[str], text: str) -> float:
    return min(3.0, float(sum(1 for c in text if c in chars)))


def dense(text: str) -> list[float]:
    """The cue vector for one text, in the order of DENSE_NAMES."""
    low = _lower(text)
    tokens = words(text)
    letters = [c for c in text if c.isalpha()]
    caps = sum(1 for c in letters if c.isupper()) / len(letters) if len(letters) >= 8 else 0.0
    praise = min(3.0, _count(PRAISE, low) + _emoji(PRAISE_EMOJI, text))
    sarcasm = min(3.0, _count(SARCASM, low) + _emoji(SARCASM_EMOJI, text) + _count(SARCASM_TAG, low))
    hostile = _count(HOSTILE, low)
    rhetorical = _count(RHETORICAL, low)
    qmarks = min(3.0, float(text.count("?") + text.count("¿")))
    return [
        qmarks,
        _count(REQUEST, low),
        praise,
        sarcasm,
        hostile,
        _count(AGENCY, low),
        _count(THIRD_PARTY, low),
        _count(NEWS, low),
        _count(URL, low),
        _count(CASUAL_PEER, low),
        _count(FIRST_PERSON_ISSUE, low),
        min(3.0, float(text.count("!"))),
        caps,
        float(is_emoji_only(text)),
        foreign_share(text, tokens),
        float(praise > 0 and sarcasm + hostile > 0),
        rhetorical,
        float(qmarks > 0 and rhetorical + sarcasm + hostile > 0),
    ]


def dense_many(texts: Sequence[str]) -> list[list[float]]:
    return [dense(t) for t in texts]


# Praise that is plainly for somebody else: thanks for something done on the platform, a named
# politician or private person ("Keep it up Senator ..."), or another office ("to the mayor").
PRAISE_ELSEWHERE = _rx(
    r"\bthanks? (?:you )?for (?:the )?(?:follow|follows|following|plug|rt|retweet|repost|tag|add)\b",
    # spam: "💯💯 follow back", "link in bio", "DM me for promo"
    r"\b(?:follow (?:me )?back|follow ?(?:4|for) ?follow|f4f|link in (?:my )?bio|check (?:out )?my (?:page|profile|bio|channel)|dm (?:me )?(?:for|to get)|promo code|use (?:my )?code)\b",
    # other officials: "good job to the mayor for ..." (leaving a batch out it changed one post, rightly)
    r"\b(?:to|for) (?:the |our )?(?:mayor|council ?(?:wo)?man|councilmember|(?:city )?council|da|district attorney)\b",
    # "the real heroes are the volunteers" (not "you are the real heroes")
    r"\bthe real (?:heroes?|mvps?) (?:are|is|were|here are)\b(?! (?:you|u|y'all|yall|our officers|the officers|the police|the cops|lapd))",
)
# Praise for people who are not the agency, under its posts: firefighters and medics after a
# rescue, nurses, other agencies, officials, crews, volunteers, neighbours. A post naming one of
# them (not as somebody's: "helped my neighbor" is the agency's good deed) and neither the police
# nor the account ("your officers", "y'all") is praise for them, however warm.
# A named politician or private person: "keep it up Senator …", "thank you Mr. Kim".
HONORIFIC = re.compile(r"\b(?:mr|mrs|ms|senator|president|governor|congress(?:wo)?man|candidate)\.? [a-z]+")
OTHER_HELPERS = re.compile(
    r"\b(?:fire ?fighters?|fire ?men|fire ?(?:department|dept|crews?|service|station|captain|chief)|fdny|lafd|"
    r"cal ?fire|paramedics?|emts?|ems|medics?|ambulance (?:crews?|team)|nurses?|doctors?|dr\.? [a-z]+|"
    r"er (?:staff|team|nurses|doctors)|icu|hospital (?:staff|workers?)|surgeons?|social workers?|"
    r"coast guard|national guard|(?:state|highway) (?:patrol|troopers?)|troopers?|chp|park rangers?|rangers|"
    r"animal control|fbi|mayor|council ?(?:wo)?m[ae]n|councilmembers?|city council|governor|public works|"
    r"sanitation|(?:utility|power|electric|road|tree|city|repair|cleanup) (?:crews?|workers?)|poll workers?|"
    r"librarians?|teachers?|principal|school staff|crossing guards?|lifeguards?|volunteers?|red cross|"
    r"salvation army|food bank|good samaritans?|samaritans?|bystanders?|strangers?|"
    r"(?:tow truck|uber|lyft|bus|taxi) drivers?|neighbou?rs?|mail ?(?:m[ae]n|carriers?|lady)|postal workers?|"
    r"(?:water|gas|power|streets?|sanitation|transportation|parks?|public health) (?:department|dept|company|crews?|techs?)|"
    r"dot|311 operators?|organizers?|fire ?rescue|(?:shelter|club|center|clinic|hospital|school|library) staff|flight crews?|"
    r"alder(?:wo)?m[ae]n|alderpersons?|councilors?|county supervisors?|coach(?:es)?|line ?(?:m[ae]n|workers?)|"
    r"(?:street|streets|snow ?plow|plow|trash|garbage) (?:crews?|workers?|drivers?|guys)|streets and san|"
    # other agencies a police or sheriff's account's residents also thank
    r"fire (?:districts?|protection districts?)|state police|border patrol|"
    # a passer-by or a shop, a church: "hats off to the guy who pulled the driver out", "the pastor"
    r"(?:hats off|shout ?outs?|props|kudos|thank you|thanks|bless|god bless|salute|respect|medal) (?:to |for )?"
    r"(?:the|this|that) (?:guy|man|woman|lady|kid|teen|teenager|young man|young lady|gentleman|dude|girl|boy|"
    r"couple|family) (?:at|from|who|that|in the)|cashiers?|store (?:owner|staff|employees?|manager)|shop owner|"
    r"bartenders?|waitress|waiters?|pastors?|priests?|clergy|rabbis?|imams?|faith leaders?|delivery drivers?|"
    r"doordash (?:driver|guy)|(?:uber eats|amazon|ups|fedex) (?:driver|guy)|"
    # a school's team or band: "congrats to the Lincoln High marching band"
    r"(?:high|high school|middle school|elementary|college|university) (?:\w+ ){0,2}(?:band|team|choir|players)|"
    # street vendors who fed the crowd
    r"(?:street |food |taco |fruit )?vendors?|food trucks?|"
    r"marching band)\b"
)
_SOMEBODYS = re.compile(r"\b(?:my|our|his|her|their|your|a|an)\s+(?:[\w']+\s+)?$")
AGENCY_NAMED = re.compile(
    r"\b(?:(?<!state )police|officers?|cops?|lapd\w*|nypd|pd|county so|deputies|deputy|sheriff\w*|detectives?|dispatch\w*|"
    r"sergeant|sgt|lieutenant|lt|(?<!fire )(?<!transportation )(?<!water )(?<!streets )(?<!street )(?<!parks )"
    r"(?<!park )(?<!health )(?<!sanitation )(?:department|dept)|(?<!fire )chief|"
    r"(?<!highway )(?<!state )(?<!border )patrol\w*|cadets?|recruits?|academy|division|precinct|(?<!fire )station|"
    r"(?<!fire )captain|air unit|swat|k-?9|pal|welfare check|badge|you guys|u guys|y'?all|you all|your|ur)\b"
)


def _named_at(pattern: re.Pattern[str], low: str) -> list[int]:
    """Where `pattern` names someone, not as somebody's ("helped my neighbor", "my neighbor Mrs. Lopez")."""
    return [
        m.start()
        for m in pattern.finditer(low)
        if not _SOMEBODYS.search(low[max(0, m.start() - 30) : m.start()])
    ]


def _named(pattern: re.Pattern[str], low: str) -> bool:
    return bool(_named_at(pattern, low))


# "…the volunteers were amazing, thank you all": thanks that follow the people just named are
# theirs, and its "you all" does not name the account ("thank you guys and the firefighters" does).
_THANKS_TO_ALL = re.compile(
    r"\b(?:thank you|thanks|thx|ty)(?: so much)?,? (?:you all|y'?all|you guys|u guys|all|everyone|everybody|guys)\b"
)


def praises_someone_else(text: str) -> bool:
    low = _lower(text)
    if PRAISE_ELSEWHERE.search(low) or _named(HONORIFIC, low):
        return True
    named = _named_at(OTHER_HELPERS, low)
    if not named:
        return False
    rest = _THANKS_TO_ALL.sub(lambda m: " " if m.start() > named[0] else m.group(), low)
    return not AGENCY_NAMED.search(rest)


def has_negative_cue(text: str) -> bool:
    """Sarcasm, hostility or an account of the agency failing: never answer this with thanks."""
    low = _lower(text)
    return bool(
        SARCASM.search(low)
        or SARCASM_TAG.search(low)
        or HOSTILE.search(low)
        or FAILURE.search(low)
        or MOCKERY.search(low)
        or any(c in SARCASM_EMOJI or c in MOCKERY_EMOJI for c in text)
    )


def is_asking(text: str) -> bool:
    """A request strong enough that a thank-you reply would ignore what the writer asked for."""
    return "?" in text or bool(ASKING.search(_lower(text)))
