"""The deterministic rule-based fact extractor: it always works, with no model at all.

``extract_facts`` reads one chat message written in the first person and returns the facts it
states about the speaker, and, conservatively, about the people and pets the speaker names ("my
sister Anna lives in Berlin"). Precision comes before recall: a question, a hypothetical, reported
speech or a clause that fits no rule yields nothing rather than a guess.

How a message is read: unify quotes, whitespace and contractions; split it into sentences; set
aside questions and hypotheticals; split each sentence into clauses where a new subject starts; in
each clause take out one time expression (resolved against ``said_at`` when given); find the
subject ("I", "my sister Anna") and try the predicate rules in order. The first rule that claims a
clause decides it, even when it then finds nothing worth keeping.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import ParamSpec

RULE_EXTRACTOR_VERSION = "rules-1"


class FactCategory(StrEnum):
    IDENTITY = "identity"
    PREFERENCE = "preference"
    RELATIONSHIP = "relationship"
    EVENT = "event"
    PLAN = "plan"
    ATTRIBUTE = "attribute"
    OTHER = "other"


@dataclass(frozen=True)
class ExtractedFact:
    subject: str
    attribute: str
    value: str
    text: str
    category: FactCategory
    importance: float
    confidence: float
    negated: bool = False
    multi_valued: bool = False


def extract_facts(
    text: str, *, speaker: str | None = None, said_at: datetime | None = None
) -> list[ExtractedFact]:
    """The facts one first-person chat message states, in the order it states them.

    ``speaker`` names the subject of the facts ("user" when not given); ``said_at`` anchors
    relative dates ("yesterday" becomes "on 7 May 2023"); without it they stay as said.
    """
    reading = _Reading(
        subject=(speaker or "").strip() or "user",
        today=said_at.date() if said_at is not None else None,
    )
    facts: list[ExtractedFact] = []
    seen: set[tuple[str, str, str, bool]] = set()
    for sentence in _sentences(_normalise(text)):
        for fact in _sentence_facts(sentence, reading):
            key = (fact.subject.casefold(), fact.attribute, fact.value.casefold(), fact.negated)
            if key not in seen:
                seen.add(key)
                facts.append(fact)
    return facts


# Vocabulary ---------------------------------------------------------------------------------


def _words(items: Iterable[str]) -> str:
    """A regex alternation of words and phrases, longest first, spaces matching any whitespace."""
    return "|".join(
        r"\s+".join(map(re.escape, item.split())) for item in sorted(items, key=len, reverse=True)
    )


_RELATIONS = {
    "sister": "sister", "sis": "sister", "brother": "brother", "wife": "wife",
    "husband": "husband", "hubby": "husband", "partner": "partner", "spouse": "spouse",
    "boyfriend": "boyfriend", "girlfriend": "girlfriend", "fiance": "fiance", "fiancé": "fiance",
    "fiancee": "fiancee", "fiancée": "fiancee", "mom": "mother", "mum": "mother",
    "mother": "mother", "mama": "mother", "mommy": "mother", "dad": "father", "father": "father",
    "papa": "father", "daddy": "father", "son": "son", "daughter": "daughter", "kid": "child",
    "child": "child", "friend": "friend", "best friend": "best_friend", "bestie": "best_friend",
    "boss": "boss", "roommate": "roommate", "flatmate": "roommate", "cousin": "cousin",
    "aunt": "aunt", "uncle": "uncle", "grandma": "grandmother", "grandmother": "grandmother",
    "granny": "grandmother", "grandpa": "grandfather", "grandfather": "grandfather",
    "niece": "niece", "nephew": "nephew", "coworker": "coworker", "co-worker": "coworker",
    "colleague": "colleague", "neighbor": "neighbor", "neighbour": "neighbor", "mentor": "mentor",
    "stepmom": "stepmother", "stepmother": "stepmother", "stepdad": "stepfather",
    "stepfather": "stepfather",
}  # fmt: skip
# Relations a person has one of at a time: a new name for them is a knowledge update.
_SINGLE_RELATIONS = frozenset(
    {"wife", "husband", "partner", "spouse", "boyfriend", "girlfriend", "fiance", "fiancee",
     "mother", "father", "boss", "stepmother", "stepfather"}
)  # fmt: skip
_PETS = {
    "dog": "dog", "puppy": "dog", "pup": "dog", "doggo": "dog", "cat": "cat", "kitten": "cat",
    "kitty": "cat", "rabbit": "rabbit", "bunny": "rabbit", "hamster": "hamster",
    "guinea pig": "guinea_pig", "parrot": "parrot", "bird": "bird", "budgie": "budgie",
    "fish": "fish", "goldfish": "goldfish", "turtle": "turtle", "tortoise": "tortoise",
    "horse": "horse", "pony": "pony", "snake": "snake", "lizard": "lizard", "gecko": "gecko",
    "ferret": "ferret",
}  # fmt: skip
# Plural nouns that "I have two ..." counts, and the attribute each count is kept under.
_COUNTED = {
    "kids": "has_kids", "children": "has_kids", "sons": "has_sons", "daughters": "has_daughters",
    "sisters": "has_sisters", "brothers": "has_brothers", "siblings": "has_siblings",
    "grandkids": "has_grandchildren", "grandchildren": "has_grandchildren", "dogs": "has_dogs",
    "cats": "has_cats", "pets": "has_pets", "kid": "has_kids", "child": "has_kids",
    "son": "has_sons", "daughter": "has_daughters", "sister": "has_sisters",
    "brother": "has_brothers", "sibling": "has_siblings",
}  # fmt: skip
_JOB_NOUNS = (
    "engineer", "developer", "programmer", "designer", "teacher", "professor", "lecturer", "nurse",
    "doctor", "physician", "surgeon", "dentist", "pharmacist", "therapist", "psychologist",
    "psychiatrist", "counselor", "counsellor", "lawyer", "attorney", "accountant", "architect",
    "artist", "painter", "musician", "singer", "songwriter", "writer", "author", "journalist",
    "editor", "photographer", "chef", "cook", "baker", "barista", "bartender", "waiter", "waitress",
    "cashier", "mechanic", "electrician", "plumber", "carpenter", "firefighter", "officer",
    "soldier", "pilot", "driver", "farmer", "scientist", "researcher", "analyst", "consultant",
    "manager", "director", "executive", "ceo", "cto", "founder", "co-founder", "entrepreneur",
    "student", "intern", "librarian", "veterinarian", "vet", "paramedic", "technician", "salesman",
    "saleswoman", "salesperson", "realtor", "banker", "economist", "translator", "interpreter",
    "secretary", "assistant", "receptionist", "clerk", "coach", "trainer", "instructor", "tutor",
    "dancer", "actor", "actress", "producer", "freelancer", "contractor", "administrator",
    "mathematician", "physicist", "chemist", "biologist", "postdoc", "caregiver", "nanny",
    "babysitter", "housekeeper", "janitor", "cleaner", "gardener", "tailor", "butcher", "builder",
    "welder", "miner", "fisherman", "sailor", "teller", "auditor", "broker", "trader", "investor",
    "streamer", "youtuber", "blogger", "influencer", "podcaster", "homemaker", "retiree", "worker",
    "specialist", "coordinator", "supervisor", "strategist", "paralegal", "midwife", "optometrist",
    "physiotherapist", "illustrator", "animator", "filmmaker", "composer"
)  # fmt: skip
_NATIONALITIES = frozenset(
    {
        "american", "british", "english", "scottish", "welsh", "irish", "canadian", "australian",
        "german", "french", "spanish", "italian", "portuguese", "dutch", "belgian", "swiss",
        "austrian", "swedish", "norwegian", "danish", "finnish", "polish", "czech", "slovak",
        "russian", "ukrainian", "greek", "turkish", "chinese", "japanese", "korean", "indian",
        "pakistani", "bangladeshi", "brazilian", "mexican", "argentinian", "argentine", "colombian",
        "chilean", "peruvian", "nigerian", "kenyan", "egyptian", "moroccan", "israeli", "iranian",
        "vietnamese", "thai", "filipino", "indonesian", "malaysian", "singaporean", "hungarian",
        "romanian", "bulgarian", "serbian", "croatian", "lebanese", "syrian", "ethiopian",
        "ghanaian", "cuban", "jamaican", "venezuelan", "icelandic", "estonian", "latvian",
        "lithuanian"
    }
)  # fmt: skip
# Capitalised words that follow "I'm" without being a name.
_NOT_NAMES = frozenset(
    {
        "sorry", "fine", "good", "great", "ok", "okay", "well", "tired", "happy", "sad", "here",
        "there", "back", "glad", "sure", "not", "so", "just", "really", "very", "still", "going",
        "doing", "feeling", "trying", "thinking", "looking", "also", "always", "never", "excited",
        "thrilled", "new", "old", "single", "married", "done", "ready", "home", "the", "a", "an",
        "and", "but", "too", "afraid", "aware", "busy", "bored", "hungry", "this", "that", "he",
        "she", "it", "they", "we", "you", "i", "my", "your", "his", "her", "our", "their", "what",
        "who", "today", "yesterday", "tomorrow", "everyone", "nobody", "somebody", "someone",
        "maybe", "god", "christian", "catholic", "jewish", "muslim", "buddhist", "hindu", "atheist",
        "gay", "straight", "bi", "trans", "vegan", "vegetarian", "in", "on", "at", "from", "with",
        "by", "for", "of", "to", "about", "like", "love", "hey", "hi", "hello", "thanks", "thank",
        "please", "yes", "no", "yeah", "yep", "nope", "lol", "omg", "wow", "oh", "um", "now",
        "then", "human", "bot", "ai", "user", "pretty", "quite", "kind", "proud", "lucky",
        "blessed", "grateful", "thankful", "interested", "curious", "worried", "nervous", "scared",
        "confused", "surprised", "obsessed", "allergic", "currently", "originally", "actually",
        "literally", "honestly", "definitely", "totally", "almost", "finally", "learning",
        "working", "living", "planning", "studying", "getting", "having", "being", "moving",
        "starting", "retired", "pregnant", "engaged", "divorced", "free", "available", "late",
        "early", "alone", "alive", "sick", "ill", "alright", "all", "important", "none", "nothing",
        "january", "february", "march", "april", "may", "june", "july", "august", "september",
        "october", "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday",
        "saturday", "sunday"
    }
)  # fmt: skip
_ADVERB_WORDS = (
    "really", "also", "just", "finally", "actually", "totally", "absolutely", "still", "recently",
    "truly", "definitely", "honestly", "seriously", "genuinely", "always", "now", "currently",
    "officially", "already", "literally", "kinda", "kind of", "sort of", "sorta", "pretty much",
    "mostly", "mainly", "usually", "originally", "even", "so", "basically", "secretly", "lowkey",
    "probably", "only",
)  # fmt: skip
_HEDGES = re.compile(
    r"\b(?:kinda|kind of|sort of|sorta|probably|i think|i guess|i believe)\b", re.I
)

_NAME = r"(?-i:(?:[A-Z]')?[A-Z][a-z]+(?:-[A-Z][a-z]+)?)"
_NAMES = rf"{_NAME}(?:\s+{_NAME}){{0,2}}"
_REF = _words([*_RELATIONS, *_PETS])
_REF_ADJ = (
    r"(?:(?:little|big|older|younger|baby|new|twin|oldest|youngest|eldest|elder|dear|lovely|"
    r"sweet|adorable|own|rescue|other|first|second|favorite|favourite)\s+)*"
)
_ADVERB = _words(_ADVERB_WORDS)
# What may follow a noun that ends a phrase: the end, punctuation, or a word that starts a new one.
_END = (
    r"(?=\s*(?:$|[^\w\s']|(?:and|but|so|or|who|which|that|at|in|from|now|too|as|for|with|whose|"
    r"since|because|named|called|by|lol|haha)\b))"
)
_COUNT = r"\d{1,2}|no|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"


# Normalising and splitting --------------------------------------------------------------------

_QUOTES = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"', "\u00a0": " "}
)
_INLINE_SPACE = re.compile(r"[ \t\r\f\v]+")
_CONTRACTIONS = {
    "i'm": "I am", "im": "I am", "i've": "I have", "ive": "I have", "i'll": "I will",
    "i'd": "I would", "can't": "cannot", "cant": "cannot", "won't": "will not",
    "don't": "do not", "dont": "do not", "doesn't": "does not", "doesnt": "does not",
    "didn't": "did not", "didnt": "did not", "isn't": "is not", "aren't": "are not",
    "wasn't": "was not", "weren't": "were not", "haven't": "have not", "hasn't": "has not",
    "hadn't": "had not", "wouldn't": "would not", "couldn't": "could not",
    "shouldn't": "should not", "gonna": "going to", "wanna": "want to", "he's": "he is",
    "she's": "she is", "it's": "it is", "that's": "that is", "there's": "there is",
    "we're": "we are", "they're": "they are", "you're": "you are",
}  # fmt: skip
_CONTRACTION = re.compile(rf"(?<![\w'])(?:{_words(_CONTRACTIONS)})(?![\w'])", re.I)
_SENTENCE_BREAK = re.compile(
    r"(?<=[.!?\u2026])[\"')\]]*\s+|\n+|(?<=[\U0001F300-\U0001FAFF\u2600-\u27BF])\s+(?=[A-Z])"
)
_ABBREVIATION = re.compile(r"\b(?:dr|mr|mrs|ms|st|jr|sr|prof|vs|e\.g|i\.e)\.$", re.I)
_NEW_SUBJECT = r"(?=(?:i|my|we|he|she|it|they|his|her|its|their|our|you|this|that|there)\b)"
_CLAUSE_BREAK = re.compile(
    r"\s*;\s*|\s*[-\u2013\u2014]+\s+"
    rf"|\s*,\s*(?:(?:and|but|so|because|'cause|though|plus|also|then)\s+)?{_NEW_SUBJECT}"
    r"|\s+(?:and then|and|but|so|because|'cause|cuz|though|although|plus|then|while|whereas)\s+"
    rf"{_NEW_SUBJECT}",
    re.I,
)
# "my sister, Anna, lives in Berlin" reads as "my sister Anna lives in Berlin".
_APPOSITION = re.compile(rf"\b(my\s+{_REF_ADJ}(?:{_REF}))\s*,\s*({_NAME})\s*,?", re.I)
_TRAILING_QUESTION = re.compile(
    r",\s*(?:and\s+)?(?:how|what|where|who|do|does|did|are|have|can|would|will|is)\b[^,]*\?$", re.I
)
# A condition colours the whole sentence ("if it rains, I'm staying home"); a modal only its clause.
_CONDITIONAL = re.compile(
    r"\b(?:if|unless|whether|suppose|supposing|imagine|imagining|pretend|pretending|wish|wished|"
    r"hypothetically|someday|one day)\b",
    re.I,
)
_MODAL = re.compile(r"\b(?:would|could|should|might|maybe|perhaps)\b|(?-i:\bmay\s+[a-z])", re.I)
_REPORTING = re.compile(
    r"\b(?:said|says|say|told|tells|tell|asked|asks|thinks|thought|claims|claimed|wrote|texted|"
    r"yelled|replied|answered)(?:\s+(?:me|us|him|her|them))?(?:\s+that)?\s*[,:]?\s*$",
    re.I,
)
_LEAD = re.compile(
    r"^(?:(?:so|well|oh|hey|hi|hello|yeah|yes|yep|ok|okay|also|and|but|actually|anyway|anyways|"
    r"btw|by the way|honestly|lol|haha|um|uh|guess what|fun fact|fyi|plus|oh and|in my free time|"
    r"in my spare time|these days|nowadays|lately|right now|currently|at the moment)\b[\s,!:.-]*)+",
    re.I,
)
_HEDGE_LEAD = re.compile(r"^i\s+(?:think|guess|believe|suppose|feel like)\s+(?:that\s+)?", re.I)
_TRAILING_JUNK = re.compile(
    r"(?:[\s.,;:!?\u2026~*\"'`\-\u2013\u2014]|[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200d]"
    r"|\s[:;]-?[)(DPp]+)+$"
)
_LEADING_JUNK = re.compile(r"^[\s,;:\-\u2013\u2014\"']+")


def _normalise(text: str) -> str:
    text = _INLINE_SPACE.sub(" ", text.translate(_QUOTES))
    return _CONTRACTION.sub(lambda m: _CONTRACTIONS[m.group().lower()], text)


def _sentences(text: str) -> list[str]:
    pieces = [piece.strip() for piece in _SENTENCE_BREAK.split(text) if piece.strip()]
    sentences: list[str] = []
    for piece in pieces:
        if sentences and _ABBREVIATION.search(sentences[-1]):
            sentences[-1] = f"{sentences[-1]} {piece}"
        else:
            sentences.append(piece)
    return sentences


def _trim(value: str) -> str:
    return _LEADING_JUNK.sub("", _TRAILING_JUNK.sub("", value)).strip()


# Time expressions -----------------------------------------------------------------------------

_MONTH_NAMES = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTHS = (
    {name: i + 1 for i, name in enumerate(_MONTH_NAMES)}
    | {name[:3]: i + 1 for i, name in enumerate(_MONTH_NAMES)}
    | {"sept": 9}
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY_NAMES = {name: i for i, name in enumerate(_WEEKDAYS)} | {
    "mon": 0, "tue": 1, "tues": 1, "wed": 2, "thu": 3, "thur": 3, "thurs": 3, "fri": 4,
    "sat": 5, "sun": 6,
}  # fmt: skip
_SEASONS = ("spring", "summer", "autumn", "fall", "winter")
_COUNT_VALUES = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "a couple of": 2,
}
_FIXED_DAYS = {
    "the day before yesterday": -2,
    "yesterday": -1,
    "last night": -1,
    "earlier today": 0,
    "today": 0,
    "tonight": 0,
    "this morning": 0,
    "this afternoon": 0,
    "this evening": 0,
    "tomorrow": 1,
    "the day after tomorrow": 2,
}
_MONTH = _words(_MONTHS)
_WEEKDAY = rf"(?:{_words(_WEEKDAY_NAMES)})\.?"
_TIME_COUNT = (
    r"\d{1,2}|a couple of|a few|several|an|a|one|two|three|four|five|six|seven|eight|nine|ten"
)
_DAY_PART = r"(?:\s+(?:morning|afternoon|evening|night))?"
_TIME = re.compile(
    rf"""\b(?:
        (?P<fixed>{_words(_FIXED_DAYS)})
      | (?P<vague>the\s+other\s+day|recently|lately|a\s+while\s+ago|some\s+time\s+ago)
      | (?P<rel>last|next|this|past|coming)\s+
        (?P<span>week|weekend|month|year|{_words(_SEASONS)}|{_WEEKDAY}){_DAY_PART}
      | (?:(?:about|around|almost|nearly|over|roughly|like)\s+)?
        (?P<ago_n>{_TIME_COUNT})\s+(?P<ago_unit>day|week|month|year)s?\s+ago
      | in\s+(?P<in_n>{_TIME_COUNT})\s+(?P<in_unit>day|week|month|year)s?
      | (?:on\s+)?(?:the\s+)?(?P<day1>\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?\s+(?P<month1>{_MONTH})
        \.?(?:,?\s+(?P<year1>\d{{4}}))?
      | (?:on\s+)?(?P<month2>{_MONTH})\.?\s+(?:the\s+)?(?P<day2>\d{{1,2}})(?:st|nd|rd|th)?
        (?:,?\s+(?P<year2>\d{{4}}))?
      | on\s+(?P<weekday>{_WEEKDAY}){_DAY_PART}
      | in\s+(?P<month3>{_MONTH})(?:\s+(?P<year3>\d{{4}}))?
      | in\s+(?P<year4>(?:19|20)\d{{2}})
    )\b""",
    re.I | re.X,
)


def _format_date(day: date) -> str:
    return f"{day.day} {_MONTH_NAMES[day.month - 1].title()} {day.year}"


def _calendar_year(year: int) -> int:
    if not 1 <= year <= 9999:
        raise ValueError(f"year {year} is outside the calendar")
    return year


def _month_text(year: int, month: int, shift: int = 0) -> str:
    index = year * 12 + month - 1 + shift
    return f"{_MONTH_NAMES[index % 12].title()} {_calendar_year(index // 12)}"


def _count(word: str) -> int | None:
    word = " ".join(word.lower().split())
    return int(word) if word.isdigit() else _COUNT_VALUES.get(word)


def _season_year(season: str, rel: str, today: date) -> int:
    """The year a season starts in, for "last/this/next <season>" said on ``today``."""
    starts = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}[season]
    current = today.year if today.month >= starts else today.year - 1
    if season == "winter" and today.month <= 2:
        current = today.year - 1
    if rel == "last":
        ends_before_today = season != "winter" and today.month >= starts + 3
        return current if ends_before_today else current - 1
    if rel == "next":
        return current + 1 if today.month >= starts or season == "winter" else current
    return current


def _offset_text(n: int, unit: str, today: date) -> str:
    if unit == "day":
        return f"on {_format_date(today + timedelta(days=n))}"
    if unit == "week":
        return f"in the week of {_format_date(today + timedelta(weeks=n))}"
    if unit == "month":
        return f"in {_month_text(today.year, today.month, n)}"
    return f"in {_calendar_year(today.year + n)}"


_P = ParamSpec("_P")


def _none_past_the_calendar(resolve: Callable[_P, str | None]) -> Callable[_P, str | None]:
    """Date arithmetic that leaves the calendar's years 1 to 9999 ("in 100000 days", "last
    year" said on 1 January of year 1, a client's 0001-01-01 for no date) gives None: the
    expression then stays as said, as one that cannot be pinned down does."""

    @functools.wraps(resolve)
    def resolved(*args: _P.args, **kwargs: _P.kwargs) -> str | None:
        try:
            return resolve(*args, **kwargs)
        except (OverflowError, ValueError):
            return None

    return resolved


@_none_past_the_calendar
def _resolve_time(match: re.Match[str], today: date, tense: str) -> str | None:
    """The absolute form of a time expression, or None when it cannot be pinned down."""
    group = match.groupdict()
    if group["fixed"]:
        offset = _FIXED_DAYS[" ".join(group["fixed"].lower().split())]
        return f"on {_format_date(today + timedelta(days=offset))}"
    if group["rel"]:
        rel = {"past": "last", "coming": "next"}.get(group["rel"].lower(), group["rel"].lower())
        span = group["span"].lower()
        step = {"last": -1, "this": 0, "next": 1}[rel]
        if span == "week":
            edge = {"last": "before", "this": "of", "next": "after"}[rel]
            return f"in the week {edge} {_format_date(today)}"
        if span == "weekend":
            saturday = today + timedelta(days=5 - today.weekday() if today.weekday() < 6 else -1)
            return f"on the weekend of {_format_date(saturday + timedelta(weeks=step))}"
        if span == "month":
            return f"in {_month_text(today.year, today.month, step)}"
        if span == "year":
            return f"in {_calendar_year(today.year + step)}"
        if span in _SEASONS:
            name = "autumn" if span == "fall" else span
            return f"in the {name} of {_calendar_year(_season_year(span, rel, today))}"
        target = _WEEKDAY_NAMES[span.rstrip(".")]
        if rel == "last":
            back = (today.weekday() - target) % 7 or 7
            return f"on {_format_date(today - timedelta(days=back))}"
        if rel == "next":
            ahead = (target - today.weekday()) % 7 or 7
            return f"on {_format_date(today + timedelta(days=ahead))}"
        return f"on {_format_date(today + timedelta(days=target - today.weekday()))}"
    if group["vague"]:
        return None
    if group["ago_n"] or group["in_n"]:
        count = _count(group["ago_n"] or group["in_n"])
        if count is None:
            return None  # "a few weeks ago" stays as said
        unit = (group["ago_unit"] or group["in_unit"]).lower()
        return _offset_text(-count if group["ago_n"] else count, unit, today)
    day_text, month_text = group["day1"] or group["day2"], group["month1"] or group["month2"]
    if day_text and month_text:
        year_text = group["year1"] or group["year2"]
        month = _MONTHS[month_text.lower()]
        try:
            when = date(int(year_text) if year_text else today.year, month, int(day_text))
        except ValueError:
            return None
        if not year_text and tense == "past" and when > today:
            when = when.replace(year=when.year - 1)
        elif not year_text and tense == "future" and when < today:
            when = when.replace(year=when.year + 1)
        return f"on {_format_date(when)}"
    if group["weekday"]:
        target = _WEEKDAY_NAMES[group["weekday"].lower().rstrip(".")]
        if tense == "past":
            back = (today.weekday() - target) % 7 or 7
            return f"on {_format_date(today - timedelta(days=back))}"
        if tense == "future":
            ahead = (target - today.weekday()) % 7 or 7
            return f"on {_format_date(today + timedelta(days=ahead))}"
        return None
    if group["month3"]:
        month = _MONTHS[group["month3"].lower()]
        year = int(group["year3"]) if group["year3"] else today.year
        if not group["year3"] and tense == "past" and month > today.month:
            year -= 1
        elif not group["year3"] and tense == "future" and month < today.month:
            year += 1
        return f"in {_MONTH_NAMES[month - 1].title()} {year}"
    return f"in {group['year4']}"


def _resolve_relative(text: str, today: date | None) -> str:
    """Pins relative dates ("tomorrow", "next week") down; explicit ones stay as said."""
    if today is None:
        return text

    def pin(match: re.Match[str]) -> str:
        group = match.groupdict()
        relative = group["fixed"] or group["rel"] or group["ago_n"] or group["in_n"]
        return (_resolve_time(match, today, "future") if relative else None) or match.group()

    return _TIME.sub(pin, text)


# Reading a message ----------------------------------------------------------------------------


@dataclass
class _Reading:
    """What one message's clauses share: who speaks, when, and the last relation or pet named."""

    subject: str
    today: date | None
    referent: str | None = None
    referent_is_pet: bool = False


@dataclass(frozen=True)
class _Clause:
    reading: _Reading
    when: re.Match[str] | None
    hedged: bool
    clause: str

    def when_text(self, tense: str) -> str:
        """ " on 7 May 2023" (or the phrase as said when it cannot be resolved), or ""."""
        if self.when is None:
            return ""
        resolved = None
        if self.reading.today is not None:
            resolved = _resolve_time(self.when, self.reading.today, tense)
        return f" {resolved or ' '.join(self.when.group().split())}"

    def fact(
        self,
        subject: str,
        attribute: str,
        value: str,
        text: str,
        *,
        confidence: float = 0.85,
        negated: bool = False,
        importance: float | None = None,
        multi_valued: bool | None = None,
    ) -> ExtractedFact:
        category, usual_importance, usually_multi = attribute_profile(attribute)
        if self.hedged:
            confidence -= 0.15
        return ExtractedFact(
            subject=subject,
            attribute=attribute,
            value=value,
            text=f"{text.rstrip('. ')}.",
            category=category,
            importance=usual_importance if importance is None else importance,
            confidence=round(max(confidence, 0.1), 2),
            negated=negated,
            multi_valued=usually_multi if multi_valued is None else multi_valued,
        )


# What each attribute is: its category, how much it matters, whether it holds many values at once.
# Who someone is and who they are close to matter most; tastes less; passing events least.
_PROFILES: dict[str, tuple[FactCategory, float, bool]] = {
    "name": (FactCategory.IDENTITY, 0.9, False),
    "nickname": (FactCategory.IDENTITY, 0.7, False),
    "birthday": (FactCategory.IDENTITY, 0.85, False),
    "age": (FactCategory.IDENTITY, 0.7, False),
    "nationality": (FactCategory.IDENTITY, 0.7, False),
    "from": (FactCategory.IDENTITY, 0.7, False),
    "grew_up_in": (FactCategory.IDENTITY, 0.7, False),
    "born_in": (FactCategory.IDENTITY, 0.7, False),
    "birth_year": (FactCategory.IDENTITY, 0.7, False),
    "lives_in": (FactCategory.ATTRIBUTE, 0.8, False),
    "works_as": (FactCategory.ATTRIBUTE, 0.8, False),
    "works_at": (FactCategory.ATTRIBUTE, 0.75, False),
    "studies": (FactCategory.ATTRIBUTE, 0.7, False),
    "studies_at": (FactCategory.ATTRIBUTE, 0.75, False),
    "allergic_to": (FactCategory.ATTRIBUTE, 0.85, True),
    "intolerant_to": (FactCategory.ATTRIBUTE, 0.8, True),
    "learning": (FactCategory.ATTRIBUTE, 0.5, True),
    "diet": (FactCategory.PREFERENCE, 0.7, False),
    "hobby": (FactCategory.PREFERENCE, 0.55, True),
    "likes": (FactCategory.PREFERENCE, 0.5, True),
    "prefers": (FactCategory.PREFERENCE, 0.45, True),
    "plays": (FactCategory.PREFERENCE, 0.45, True),
    "has_pet": (FactCategory.RELATIONSHIP, 0.6, True),
    "event": (FactCategory.EVENT, 0.45, True),
    "plans": (FactCategory.PLAN, 0.55, True),
    "wants_to": (FactCategory.PLAN, 0.45, True),
    "remember": (FactCategory.OTHER, 0.95, True),
}
_RELATION_ATTRIBUTES = frozenset(_RELATIONS.values())


def attribute_profile(attribute: str) -> tuple[FactCategory, float, bool]:
    """Category, usual importance and whether many values may hold at once, by attribute."""
    if attribute in _PROFILES:
        return _PROFILES[attribute]
    if attribute in _RELATION_ATTRIBUTES:
        return FactCategory.RELATIONSHIP, 0.8, attribute not in _SINGLE_RELATIONS
    if attribute.endswith("_name"):  # a pet's name: "dog_name"
        return FactCategory.RELATIONSHIP, 0.7, True
    if attribute.startswith("has_"):  # a count: "has_kids"
        return FactCategory.RELATIONSHIP, 0.75, False
    if attribute.startswith("favorite_"):
        return FactCategory.PREFERENCE, 0.55, False
    if attribute.endswith("_date"):  # "anniversary_date"
        return FactCategory.EVENT, 0.7, False
    return FactCategory.OTHER, 0.5, False


@dataclass(frozen=True)
class _Who:
    """The subject of a clause: the speaker, or a relation or pet of theirs."""

    subject: str
    first_person: bool
    ref: str | None = None
    is_pet: bool = False


_ClauseRule = Callable[[_Clause], list[ExtractedFact] | None]
_PredicateRule = Callable[[str, _Who, _Clause], list[ExtractedFact] | None]


def _sentence_facts(sentence: str, reading: _Reading) -> list[ExtractedFact]:
    request = _remember_request(sentence, reading)
    if request is not None:
        return request
    sentence = _LEAD.sub("", sentence)
    if sentence.rstrip().endswith("?"):
        # "I love hiking, do you?" states something before it asks; anything else is a question.
        tail = _TRAILING_QUESTION.search(sentence)
        if tail is None:
            return []
        sentence = sentence[: tail.start()]
    if _CONDITIONAL.search(sentence):
        return []
    sentence = _APPOSITION.sub(r"\1 \2", sentence)
    lead_time = _TIME.match(sentence)
    if lead_time is not None:  # "Last Friday, I went to ..." is one clause
        sentence = lead_time.group() + re.sub(r"^\s*,", "", sentence[lead_time.end() :])
    facts: list[ExtractedFact] = []
    previous = ""
    for clause in _CLAUSE_BREAK.split(sentence):
        if _REPORTING.search(previous):
            break  # what follows "she told me," is someone else's statement
        facts.extend(_clause_facts(clause, reading))
        previous = clause
    return facts


def _clause_facts(text: str, reading: _Reading) -> list[ExtractedFact]:
    if _MODAL.search(text):
        return []
    text = _trim(_LEAD.sub("", _trim(text)))
    hedged = bool(_HEDGES.search(text))
    text = _HEDGE_LEAD.sub("", text)
    when = _TIME.search(text)
    if when is not None:
        text = _trim(f"{text[: when.start()]} {text[when.end() :]}")
        text = _LEAD.sub("", " ".join(text.split()))
    if not text:
        return []
    clause = _Clause(reading=reading, when=when, hedged=hedged, clause=text)
    for rule in _CLAUSE_RULES:
        facts = rule(clause)
        if facts is not None:
            return facts
    return []


# Clause rules: whole-clause shapes -------------------------------------------------------------

_REMEMBER = re.compile(
    r"^(?:(?:hey|ok|okay|so|and|also|oh|btw)[\s,!]+)*(?:(?:please|pls|plz|can you|could you|"
    r"will you|would you)\s+)?(?:please\s+)?(?P<verb>remember|do not forget|never forget|"
    r"keep in mind|make a note|note|remind me)(?:\s+(?P<link>that|to|about))?\s*[,:]?\s+"
    r"(?P<body>.+?)[\s,]*(?:please|pls|thanks|thank you|ok|okay)?[\s.!?]*$",
    re.I,
)
_NOT_A_REQUEST = re.compile(r"^(?:when|the time|how|what|where|who|me\b|us\b|you\b|it\b)", re.I)


def _remember_request(sentence: str, reading: _Reading) -> list[ExtractedFact] | None:
    match = _REMEMBER.match(sentence)
    if match is None:
        return None
    polite = re.match(
        r"^\W*(?:please|pls|plz|can you|could you|will you|would you)\b", sentence, re.I
    )
    if sentence.rstrip().endswith("?") and not polite:
        return None  # "Remember this photo?" asks; it does not tell
    body = _trim(match.group("body"))
    verb, link = match.group("verb").lower(), (match.group("link") or "").lower()
    if not body or _NOT_A_REQUEST.match(body) or (link == "to" and verb != "remind me"):
        return None
    if _SECOND_PERSON.search(body):
        return []  # "remember, I'm always here for you" is said to someone, not a memo
    if not link and verb != "remind me" and not _FIRST_PERSON.search(body):
        return []  # "Remember, practice makes perfect" is advice, not a memo
    clause = _Clause(reading=reading, when=None, hedged=False, clause=body)
    if verb == "remind me":
        when = _TIME.search(body)
        core = _trim(f"{body[: when.start()]} {body[when.end() :]}") if when else body
        dated = replace(clause, when=when)
        joiner = "to" if link == "to" else "about"
        text = (
            f"{reading.subject} wants to be reminded {joiner} "
            f"{_third_person_text(core, reading.subject)}{dated.when_text('future')}"
        )
        return [
            clause.fact(reading.subject, "remember", body, text, confidence=0.9, importance=0.9)
        ]
    text = _third_person_text(_resolve_relative(body, reading.today), reading.subject)
    return [clause.fact(reading.subject, "remember", body, text, confidence=0.95)]


_PRONOUN_NAMING = re.compile(
    rf"^(?:(?:his|her|its|their)\s+name\s+is|(?:he|she|it)\s+is\s+(?:called|named)|"
    rf"(?:we|i)\s+(?:named|called)\s+(?:him|her|it|them))\s+(?P<name>{_NAMES})",
    re.I,
)


def _pronoun_naming(clause: _Clause) -> list[ExtractedFact] | None:
    """ "I adopted a dog, his name is Biscuit": the name goes to the last relation or pet named."""
    match = _PRONOUN_NAMING.match(clause.clause)
    reading = clause.reading
    if match is None or reading.referent is None or not _is_name(match.group("name")):
        return None
    return [
        _naming_fact(
            clause,
            reading.subject,
            reading.referent,
            reading.referent_is_pet,
            match.group("name"),
            0.85,
        )
    ]


def _naming_fact(
    clause: _Clause, owner: str, ref: str, is_pet: bool, name: str, confidence: float
) -> ExtractedFact:
    attribute = f"{ref}_name" if is_pet else ref  # "dog_name", "sister"
    text = f"{owner}'s {ref.replace('_', ' ')} is called {name}"
    return clause.fact(owner, attribute, name, text, confidence=confidence)


def _is_name(name: str) -> bool:
    return name.split()[0].lower() not in _NOT_NAMES | _NATIONALITIES


_MY_NAME = re.compile(
    r"^my\s+(?:full\s+|real\s+|first\s+)?name(?:'s|\s+is)\s+(?P<name>[a-z]+(?:-[a-z]+)?"
    rf"(?:\s+{_NAME}){{0,2}})(?P<rest>.*)$",
    re.I,
)
_CALL_ME = re.compile(
    r"^(?:(?:you\s+can\s+|please\s+|just\s+)?call|(?P<others>people|everyone|my\s+friends|"
    rf"friends)\s+call)\s+me\s+(?P<name>{_NAMES})(?P<rest>.*)$",
    re.I,
)
_NAME_TAIL = re.compile(r"^\s*(?:$|[,.!\u2026]|and\b|by the way|btw|from\b|here\b|lol|haha)", re.I)


def _my_name(clause: _Clause) -> list[ExtractedFact] | None:
    subject = clause.reading.subject
    match = _MY_NAME.match(clause.clause)
    if match is not None:
        name = match.group("name")
        if not _is_name(name) or not _NAME_TAIL.match(match.group("rest")):
            return []
        return [clause.fact(subject, "name", name, f"{subject}'s name is {name}", confidence=0.95)]
    match = _CALL_ME.match(clause.clause)
    if match is None:
        return None
    name = match.group("name")
    if not _is_name(name) or not _NAME_TAIL.match(match.group("rest")):
        return []
    if match.group("others"):
        return [clause.fact(subject, "nickname", name, f"{subject} is called {name} by others")]
    return [clause.fact(subject, "name", name, f"{subject} wants to be called {name}")]


_FAVORITE = re.compile(
    r"^my\s+(?:(?:all-time|all\s+time|absolute|very)\s+)?(?:favou?rite|fav|fave)\s+"
    r"(?P<thing>[a-z][\w-]*(?:\s+[a-z][\w-]*){0,3}?)\s+(?:is|are|has\s+to\s+be)\s+"
    r"(?P<value>.+)$",
    re.I,
)
_FAVORITE_REVERSED = re.compile(
    r"^(?P<value>.+?)\s+(?:is|are)\s+(?:definitely\s+|probably\s+|easily\s+)?my\s+"
    r"(?:(?:all-time|absolute)\s+)?(?:favou?rite|fav|fave)\s+"
    r"(?P<thing>[a-z][\w-]*(?:\s+[a-z][\w-]*){0,2})$",
    re.I,
)
_UNCOUNTABLE_PLURALS = frozenset({"series", "species", "news", "clothes", "glasses", "shoes"})


def _favorite(clause: _Clause) -> list[ExtractedFact] | None:
    match = _FAVORITE.match(clause.clause) or _FAVORITE_REVERSED.match(clause.clause)
    if match is None:
        return None
    value, thing = _clean_object(match.group("value")), match.group("thing").lower()
    if value is None:
        return []
    plural = thing.endswith("s") and not thing.endswith("ss") and thing not in _UNCOUNTABLE_PLURALS
    key = thing[:-3] + "y" if plural and thing.endswith("ies") else thing[:-1] if plural else thing
    subject, verb = clause.reading.subject, "are" if plural else "is"
    text = f"{subject}'s favorite {thing} {verb} {_third_person_text(value, subject)}"
    return [
        clause.fact(
            subject, f"favorite_{_snake(key)}", value, text, confidence=0.9, multi_valued=plural
        )
    ]


_MY_THING = re.compile(
    r"^my\s+(?P<thing>(?:main\s+)?(?:hobby|hobbies|passion|goal|dream|plan))\s+"
    r"(?:is|are|include|includes)\s+(?P<value>.+)$",
    re.I,
)


def _my_thing(clause: _Clause) -> list[ExtractedFact] | None:
    match = _MY_THING.match(clause.clause)
    if match is None:
        return None
    subject, thing = clause.reading.subject, match.group("thing").lower().split()[-1]
    raw = match.group("value")
    if thing in {"goal", "dream", "plan"}:
        if not raw.lower().startswith("to "):
            return []
        value = _clean_plan(raw[3:])
        if value is None:
            return []
        attribute, verb = ("plans", "plans") if thing == "plan" else ("wants_to", "wants")
        text = (
            f"{subject} {verb} to {_third_person_text(value, subject)}{clause.when_text('future')}"
        )
        return [clause.fact(subject, attribute, value, text, multi_valued=True)]
    facts = []
    for item in _list_items(raw):
        text = f"{subject} enjoys {_third_person_text(item, subject)} as a hobby"
        facts.append(clause.fact(subject, "hobby", item, text, confidence=0.9))
    return facts


_MY_DATE = re.compile(
    r"^my\s+(?P<thing>(?:[a-z]+\s+){0,2}?(?:birthday|bday|b-day|anniversary|wedding|exam|exams|"
    r"interview|graduation|surgery|operation|appointment|party|trip|flight|vacation|holiday|"
    r"concert|recital|race|marathon|presentation|deadline|due date|ceremony|first day))\s+"
    r"(?P<verb>is|was|will be|falls)\s*(?:on|in)?$",
    re.I,
)


def _my_date(clause: _Clause) -> list[ExtractedFact] | None:
    match = _MY_DATE.match(clause.clause)
    if match is None:
        return None
    if clause.when is None:
        return []
    subject, thing = clause.reading.subject, match.group("thing").lower()
    if thing.split()[-1] in {"birthday", "bday", "b-day"} and len(thing.split()) == 1:
        value = _birthday_value(clause)
        if value is None:
            return []
        return [
            clause.fact(
                subject, "birthday", value, f"{subject}'s birthday is on {value}", confidence=0.9
            )
        ]
    tense = "past" if match.group("verb").lower() == "was" else "future"
    value = clause.when_text(tense).strip()
    verb = "was" if tense == "past" else "is"
    return [
        clause.fact(subject, f"{_snake(thing)}_date", value, f"{subject}'s {thing} {verb} {value}")
    ]


@_none_past_the_calendar
def _birthday_value(clause: _Clause) -> str | None:
    """The day and month of a birthday: as said when explicit, resolved when relative."""
    when = clause.when
    assert when is not None
    group = when.groupdict()
    if (group["day1"] or group["day2"]) and (group["month1"] or group["month2"]):
        phrase = re.sub(r"^(?:on\s+)", "", " ".join(when.group().split()), flags=re.I)
        return re.sub(r"^the\s+", "", phrase, flags=re.I)
    if group["fixed"] and clause.reading.today is not None:
        day = clause.reading.today + timedelta(
            days=_FIXED_DAYS[" ".join(group["fixed"].lower().split())]
        )
        return f"{day.day} {_MONTH_NAMES[day.month - 1].title()}"
    return None


_REF_NAME = re.compile(
    rf"^my\s+{_REF_ADJ}(?P<ref>{_REF})(?:'s\s+name\s+is|\s+(?:is|'s)\s+(?:called|named)|"
    rf"\s+goes\s+by)\s+(?P<name>{_NAMES})",
    re.I,
)
_NAME_IS_REF = re.compile(rf"^(?P<name>{_NAMES})\s+is\s+my\s+{_REF_ADJ}(?P<ref>{_REF}){_END}", re.I)


def _ref_name(clause: _Clause) -> list[ExtractedFact] | None:
    """ "my dog's name is Biscuit", "my sister is called Anna", "Anna is my sister"."""
    match = _REF_NAME.match(clause.clause) or _NAME_IS_REF.match(clause.clause)
    if match is None:
        return None
    name = match.group("name")
    ref, is_pet = _ref(match.group("ref"))
    clause.reading.referent, clause.reading.referent_is_pet = ref, is_pet
    if not _is_name(name):
        return []
    return [_naming_fact(clause, clause.reading.subject, ref, is_pet, name, 0.9)]


def _ref(word: str) -> tuple[str, bool]:
    word = " ".join(word.lower().split())
    if word in _PETS:
        return _PETS[word], True
    return _RELATIONS[word], False


_SUBJECT = re.compile(
    rf"^(?:(?P<i>i)|my\s+{_REF_ADJ}(?P<ref>{_REF})(?:\s+(?P<name>{_NAME}))?)\s+(?P<pred>\S.*)$",
    re.I,
)
_HEAD_ADVERB = re.compile(
    rf"^((?:(?:am|is|do not|does not|did not|never|have|has|will|am not|is not|have been|"
    rf"has been)\s+)?)(?:{_ADVERB})\s+",
    re.I,
)


def _subject_predicate(clause: _Clause) -> list[ExtractedFact] | None:
    match = _SUBJECT.match(clause.clause)
    if match is None:
        return None
    reading, facts = clause.reading, []
    if match.group("i"):
        who = _Who(subject=reading.subject, first_person=True)
    else:
        ref, is_pet = _ref(match.group("ref"))
        reading.referent, reading.referent_is_pet = ref, is_pet
        name = match.group("name")
        noun = ref.replace("_", " ")
        if name and _is_name(name):
            facts.append(_naming_fact(clause, reading.subject, ref, is_pet, name, 0.85))
            who = _Who(f"{reading.subject}'s {noun} {name}", False, ref, is_pet)
        else:
            who = _Who(f"{reading.subject}'s {noun}", False, ref, is_pet)
    pred = match.group("pred")
    for _ in range(4):
        shorter = _HEAD_ADVERB.sub(r"\1", pred, count=1)
        if shorter == pred:
            break
        pred = shorter
    for rule in _PREDICATE_RULES:
        found = rule(pred, who, clause)
        if found is not None:
            return facts + found
    return facts


# Predicate rules: what follows "I" or "my sister Anna" ----------------------------------------

_OBJECT_CUT = re.compile(
    r"(?:\s*,\s*|\s+)(?:because|since|'cause|cuz|coz|but|although|though|when|whenever|while|which|"
    r"who|where|as long as|unless|so much that|even though|as well as|especially|particularly|"
    r"for example|for instance)\b.*$"
    # "got a new console and the graphics are great": the second half is a new statement
    r"|\s+and\s+(?:[\w']+\s+){0,3}(?:is|are|was|were)\b.*$",
    re.I,
)
_TRAILING_FILLER = re.compile(
    r"(?:\s+(?:so much|so very much|very much|a lot|a ton|lots|too|as well|anymore|any more|"
    r"either|these days|nowadays|at all|at the moment|right now|now|currently|for now|though|"
    r"tbh|honestly|lol|lmao|haha+|hehe|by the way|btw|actually|really|again|already|still|"
    r"personally|more and more|recently|lately|sometime|this time|nonstop|all the time|every day|"
    r"daily|regularly|sometimes|often|together|myself))+$",
    re.I,
)
_BLOCKED_OBJECT = re.compile(
    r"^(?:i|it|that|this|these|those|them|him|her|you|yours|what|how|when|where|why|which|something|"
    r"anything|everything|nothing|someone|anyone|everyone|one|ones|so|such|lots|not|never|no|"
    r"to hear|to see that|to think|to say|hearing|the idea|the way|the fact|all the|your|"
    r"the (?:colou?rs?|vibes?|photo|pic|picture|painting|theme|look|sound|energy|details?|"
    r"message|story|design|pattern|shot))\b|^(?:to|do|the|a|an|and|or)$",
    re.I,
)
_SECOND_PERSON = re.compile(r"\b(?:you|your|yours|yourself|u|ur)\b", re.I)


# A pronoun inside an object points at something this clause does not name ("make it for my mom").
_REFERS_ELSEWHERE = re.compile(
    r"\b(?:it|them|this|these|those|him|her|he|she|they|his|its|their|em)\b|'em\b", re.I
)


_LEADING_FILLER = re.compile(
    r"^(?:(?:also|really|just|especially|even|still|actually|totally)\s+)+", re.I
)
_VOCATIVE = re.compile(rf",\s*{_NAME}$")


def _clean_object(raw: str, *, max_words: int = 10) -> str | None:
    value = _trim(_OBJECT_CUT.sub("", raw.replace('"', "")))
    value = _trim(_VOCATIVE.sub("", _LEADING_FILLER.sub("", value)))
    for _ in range(3):
        value = _trim(_TRAILING_FILLER.sub("", value))
    if (
        not value
        or len(value.split()) > max_words
        or _BLOCKED_OBJECT.match(value)
        or _SECOND_PERSON.search(value)
        or _REFERS_ELSEWHERE.search(value)
    ):
        return None
    return value


def _list_items(raw: str) -> list[str]:
    """ "hiking, reading and cooking" is three things; "rock and roll" stays one."""
    cleaned = _clean_object(raw, max_words=16)
    if cleaned is None:
        return []
    parts = re.split(r"\s*,\s*(?:and\s+|or\s+)?|\s+and\s+|\s*&\s*", cleaned)
    if "," not in cleaned or any(len(part.split()) > 3 for part in parts):
        return [cleaned] if len(cleaned.split()) <= 10 else []
    items = [_clean_object(part) for part in parts]
    return [item for item in items if item]


def _snake(words: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", words.lower()).strip("_")


_NO_LONGER = re.compile(r"\b(?:no longer|anymore|any more)\b", re.I)


_AGE = re.compile(
    r"^(?:(?:am|is)|(?P<turned>turned))\s+(?P<age>\d{1,3})(?:\s*(?:years?|yrs?)(?:\s+old)?|\s*y/?o)?"
    r"(?:\s+(?:now|already))?\s*$",
    re.I,
)


def _age(pred: str, who: _Who, clause: _Clause) -> list[ExtractedFact] | None:
    match = _AGE.match(pred)
    if match is None:
        return None
    age = match.group("age")
    if not 0 < int(age) < 120:
        return []
    if match.group("turned") and clause.when is not None:
        text = f"{who.subject} turned {age}{clause.when_text('past')}"
    else:
        text = f"{who.subject} is {age} years old"
    return [clause.fact(who.subject, "age", age, text, confidence=0.9)]


_I_AM_NAME = re.compile(rf"^am\s+(?P<name>{_NAMES})(?P<rest>.*)$", re.I)
_NATIONALITY = re.compile(rf"^(?:am|is)\s+(?P<nationality>{_words(_NATIONALITIES)}){_END}", re.I)


def _identity(pred: str, who: _Who, clause: _Clause) -> list[ExtractedFact] | None:
    match = _NATIONALITY.match(pred)
    if match is not None:
        value = match.group("nationality").title()
        return [clause.fact(who.subject, "nationality", value, f"{who.subject} is {value}")]
    match = _I_AM_NAME.match(pred)
    if match is None or not who.first_person:
        return None
    name = match.group("name")
    if not _is_name(name) or not _NAME_TAIL.match(match.group("rest")):
        return None
    return [
        clause.fact(who.subject, "name", name, f"{who.subject}'s name is {name}", confidence=0.8)
    ]


_DIET = re.compile(
    r"^(?:am|is)\s+(?P<neg>not\s+|no\s+longer\s+)?(?:a\s+)?"
    rf"(?:(?P<diet>vegan|vegetarian|pescatarian|pescetarian|flexitarian)|"
    rf"(?P<intolerance>lactose|gluten)[\s-]+intolerant){_END}",
    re.I,
)
_ALLERGY = re.compile(
    r"^(?:(?:am|is)\s+(?:(?:severely|very|deathly|super|highly|mildly)\s+)?allergic\s+to\s+"
    r"(?P<object>.+)|(?:have|has)\s+(?:a|an)\s+(?:severe\s+|mild\s+)?(?P<noun>[\w-]+(?:\s+[\w-]+)?)"
    r"\s+allergy\b.*)$",
    re.I,
)


def _diet_and_allergies(pred: str, who: _Who, clause: _Clause) -> list[ExtractedFact] | None:
    match = _DIET.match(pred)
    if match is not None and match.group("intolerance"):
        value, negated = match.group("intolerance").lower(), bool(match.group("neg"))
        text = f"{who.subject} is {'not ' if negated else ''}{value} intolerant"
        return [
            clause.fact(who.subject, "intolerant_to", value, text, negated=negated, confidence=0.9)
        ]
    if match is not None:
        diet, negated = match.group("diet").lower(), bool(match.group("neg"))
        verb = "is"
        if negated:
            verb = "is no longer" if _NO_LONGER.search(clause.clause) else "is not"
        text = f"{who.subject} {verb} {diet}"
        return [clause.fact(who.subject, "diet", diet, text, negated=negated, confidence=0.9)]
    match = _ALLERGY.match(pred)
    if match is None:
        return None
    items = _list_items(match.group("object")) if match.group("object") else [match.group("noun")]
    subject = who.subject
    return [
        clause.fact(
            subject, "allergic_to", item, f"{subject} is allergic to {item}", confidence=0.9
        )
        for item in items
    ]


_LIVE = re.compile(
    r"^(?:(?P<neg>do not|does not|no longer)\s+)?(?:live|lives|am living|is living|have been "
    r"living|has been living|have lived|has lived|reside|resides|am based|is based)\s+in\s+"
    r"(?P<place>.+)$",
    re.I,
)
_MOVED = re.compile(
    r"^(?:(?:have|has)\s+)?(?:just\s+)?(?:moved|relocated)\s+(?:back\s+)?to\s+(?P<place>.+)$", re.I
)
_FROM = re.compile(
    r"^(?:(?:am|is)\s+(?P<neg>not\s+)?(?:originally\s+)?from|(?:come|comes)\s+from)\s+(?P<place>.+)$",
    re.I,
)
_GREW_UP = re.compile(
    r"^(?:grew\s+up|was\s+raised|was\s+born\s+and\s+raised)\s+in\s+(?P<place>.+)$", re.I
)
_BORN = re.compile(r"^was\s+born(?:\s+in\s+(?P<place>.+))?$", re.I)
_PLACE_CUT = re.compile(
    r"\s+(?:with|for|since|because|where|which|who|when|but|and\s+i)\b.*$", re.I
)
_NOT_PLACES = frozenset(
    {"fear", "hope", "denial", "peace", "harmony", "luxury", "poverty", "sin", "the moment",
     "the past", "the present", "the future", "a bubble", "my head", "my own world", "a dream",
     "a dream world", "the now", "the shadows", "misery", "pain", "comfort", "constant fear",
     "chaos", "work", "school", "home", "here", "there", "around here", "the area", "nearby",
     "the same place", "the same city", "town", "the city"}
)  # fmt: skip
_PLACE_NOUNS = re.compile(
    r"^(?:a|an|the|this)\s+(?:[\w'-]+\s+){0,3}(?:city|town|village|suburb|suburbs|countryside|"
    r"apartment|flat|house|condo|dorm|neighborhood|neighbourhood|farm|island|state|country)\b",
    re.I,
)


def _place(raw: str) -> str | None:
    value = _clean_object(_PLACE_CUT.sub("", raw), max_words=6)
    if value is None or value.lower() in _NOT_PLACES:
        return None
    if re.search(r"(?-i:\b[A-Z])", value) or _PLACE_NOUNS.match(value):
        return value
    # Casual chat writes places in lowercase ("i live in berlin"): accept a short bare name.
    return value if len(value.split()) <= 2 and not value.lower().startswith("my ") else None


def _places(pred: str, who: _Who, clause: _Clause) -> list[ExtractedFact] | None:
    subject = who.subject
    match = _LIVE.match(pred)
    if match is not None:
        place, negated = _place(match.group("place")), bool(match.group("neg"))
        if place is None:
            return []
        verb = "lives"
        if negated:
            verb = "no longer lives" if _NO_LONGER.search(clause.clause) else "does not live"
        text = f"{subject} {verb} in {place}"
        return [clause.fact(subject, "lives_in", place, text, negated=negated, confidence=0.9)]
    match = _MOVED.match(pred)
    if match is not None:
        place = _place(match.group("place"))
        if place is None:
            return []
        text = f"{subject} moved to {place}{clause.when_text('past')}"
        return [clause.fact(subject, "lives_in", place, text)]
    match = _FROM.match(pred)
    if match is not None:
        place, negated = _place(match.group("place")), bool(match.groupdict().get("neg"))
        if place is None:
            return []
        text = f"{subject} is {'not ' if negated else ''}from {place}"
        return [clause.fact(subject, "from", place, text, negated=negated, confidence=0.9)]
    match = _GREW_UP.match(pred)
    if match is not None:
        place = _place(match.group("place"))
        if place is None:
            return []
        return [
            clause.fact(
                subject, "grew_up_in", place, f"{subject} grew up in {place}", confidence=0.9
            )
        ]
    match = _BORN.match(pred)
    if match is None:
        return None
    return _born(match, who, clause)


def _born(match: re.Match[str], who: _Who, clause: _Clause) -> list[ExtractedFact]:
    subject = who.subject
    if match.group("place"):
        place = _place(match.group("place"))
        if place is None:
            return []
        return [
            clause.fact(subject, "born_in", place, f"{subject} was born in {place}", confidence=0.9)
        ]
    if clause.when is None:
        return []
    group = clause.when.groupdict()
    if group["year4"]:
        year = group["year4"]
        return [
            clause.fact(
                subject, "birth_year", year, f"{subject} was born in {year}", confidence=0.9
            )
        ]
    value = _birthday_value(clause)
    if value is None:
        return []
    return [
        clause.fact(
            subject, "birthday", value, f"{subject}'s birthday is on {value}", confidence=0.9
        )
    ]


_JOB_MODIFIER = r"(?:(?!(?:of|fan|for|to|the|and|with|in|at|like|bit|lot|kind|sort)\b)[\w+#/-]+\s+)"
_I_AM_JOB = re.compile(
    rf"^(?:am|is)\s+(?P<neg>not\s+|no\s+longer\s+)?(?P<job>(?:a|an)\s+{_JOB_MODIFIER}{{0,3}}?"
    rf"(?:{_words(_JOB_NOUNS)})){_END}(?:\s+(?:at|for)\s+(?P<org>.+))?",
    re.I,
)
_WORK_AS = re.compile(
    r"^(?:(?P<neg>do not|does not|no longer)\s+)?(?:work|works|am working|is working|have been "
    r"working|has been working|have worked|has worked)\s+as\s+(?P<job>.+)$",
    re.I,
)
_WORK_AT = re.compile(
    r"^(?:(?P<neg>do not|does not|no longer)\s+)?(?P<verb>work|works|am working|is working|have "
    r"been working|has been working|have worked|has worked|am employed|is employed|am interning|"
    r"intern|interns|(?:just\s+)?got\s+a\s+(?:new\s+)?job|started\s+a\s+(?:new\s+)?job|"
    r"started\s+working)\s+(?:at|for|with)\s+(?P<org>.+)$",
    re.I,
)
_STUDY = re.compile(
    r"^(?:(?:am|is)\s+(?:studying|majoring\s+in|doing\s+(?:a|my)\s+(?:degree|masters|master's|phd|"
    r"bachelor's|bachelors)\s+in)|study|studies|major\s+in|majors\s+in)\s+(?P<what>.+)$",
    re.I,
)
_NOT_ORGS = frozenset(
    {"home", "night", "the moment", "the weekend", "a living", "myself", "free", "fun", "money",
     "the weekends", "weekends", "nights", "work"}
)  # fmt: skip


def _org(raw: str) -> str | None:
    value = _clean_object(_PLACE_CUT.sub("", raw), max_words=8)
    if value is None or value.lower() in _NOT_ORGS:
        return None
    has_proper_noun = re.search(r"(?-i:\b[A-Z])", value)
    if has_proper_noun or re.match(r"^(?:a|an|the)\s+\w", value, re.I):
        return value
    return None


def _jobs(pred: str, who: _Who, clause: _Clause) -> list[ExtractedFact] | None:
    subject = who.subject
    match = _I_AM_JOB.match(pred) or _WORK_AS.match(pred)
    if match is not None:
        job_and_org = re.split(r"\s+(?:at|for)\s+", match.group("job"), maxsplit=1, flags=re.I)
        job = _clean_object(job_and_org[0], max_words=6)
        raw_org = match.groupdict().get("org") or (job_and_org[1] if len(job_and_org) > 1 else None)
        if job is None:
            return []
        negated = bool(match.group("neg"))
        if negated:
            verb = "no longer works as" if _NO_LONGER.search(clause.clause) else "does not work as"
        else:
            verb = "is" if pred.lower().startswith(("am ", "is ")) else "works as"
        facts = [
            clause.fact(
                subject, "works_as", job, f"{subject} {verb} {job}", negated=negated, confidence=0.9
            )
        ]
        org = _org(raw_org) if raw_org and not negated else None
        if org is not None:
            student = job.lower().endswith("student")
            attribute = "studies_at" if student else "works_at"
            text = f"{subject} {'studies' if student else 'works'} at {org}"
            facts.append(clause.fact(subject, attribute, org, text))
        return facts
    match = _WORK_AT.match(pred)
    if match is not None:
        org, negated = _org(match.group("org")), bool(match.group("neg"))
        if org is None:
            return []
        if negated:
            verb = "no longer works" if _NO_LONGER.search(clause.clause) else "does not work"
            text = f"{subject} {verb} at {org}"
        elif "job" in match.group("verb").lower():
            verb = " ".join(match.group("verb").lower().split()).removeprefix("just ")
            text = f"{subject} {verb} at {org}{clause.when_text('past')}"
        else:
            text = f"{subject} works at {org}"
        return [clause.fact(subject, "works_at", org, text, negated=negated, confidence=0.9)]
    match = _STUDY.match(pred)
    if match is None:
        return None
    return _studies(match.group("what"), who, clause)


def _studies(raw: str, who: _Who, clause: _Clause) -> list[ExtractedFact]:
    subject = who.subject
    if re.match(r"^(?:for|with|hard|a lot|all)\b", raw, re.I):
        return []
    subject_and_school = re.split(r"\s+at\s+|^at\s+", raw, maxsplit=1, flags=re.I)
    facts = []
    what = _clean_object(subject_and_school[0], max_words=6) if subject_and_school[0] else None
    if what is not None:
        facts.append(clause.fact(subject, "studies", what, f"{subject} is studying {what}"))
    school = _org(subject_and_school[1]) if len(subject_and_school) > 1 else None
    if school is not None:
        facts.append(clause.fact(subject, "studies_at", school, f"{subject} studies at {school}"))
    return facts


_HAVE_REF = re.compile(
    rf"^(?:(?P<neg>do not|does not)\s+have\s+(?:a|an|any)|(?P<verb>have got|has got|have|has|got|"
    rf"adopted|rescued|bought|brought home)\s+(?:a|an|one|another|a\s+new|my\s+first))\s+"
    rf"{_REF_ADJ}(?P<ref>{_REF})(?:(?:\s*,)?\s+(?:called|named|whose\s+name\s+is)\s+"
    rf"(?P<name>{_NAMES}))?{_END}",
    re.I,
)
_HAVE_COUNT = re.compile(
    rf"^(?:(?:have|has|have got|has got)\s+(?P<n>{_COUNT})|(?P<none>do not|does not)\s+have\s+any)"
    rf"\s+(?:(?:little|young|grown|grown-up|adult|beautiful|wonderful|amazing|older|younger)\s+)?"
    rf"(?P<what>{_words(_COUNTED)}){_END}",
    re.I,
)


def _have(pred: str, who: _Who, clause: _Clause) -> list[ExtractedFact] | None:
    subject, reading = who.subject, clause.reading
    match = _HAVE_COUNT.match(pred)
    if match is not None:
        what = match.group("what").lower()
        count = "no" if match.group("none") else match.group("n")
        singular = count.lower() in {"one", "1"}
        if singular != (
            what in {"kid", "child", "son", "daughter", "sister", "brother", "sibling"}
        ):
            return []
        return [
            clause.fact(
                subject, _COUNTED[what], count, f"{subject} has {count} {what}", confidence=0.9
            )
        ]
    match = _HAVE_REF.match(pred)
    if match is None:
        return None
    ref, is_pet = _ref(match.group("ref"))
    reading.referent, reading.referent_is_pet = ref, is_pet
    facts = []
    negated = bool(match.group("neg"))
    noun = ref.replace("_", " ")
    if is_pet:
        verb = (match.group("verb") or "").lower()
        if negated:
            text = f"{subject} does not have a {noun}"
        elif verb in {"have", "has", "have got", "has got"}:
            text = f"{subject} has a {noun}"
        else:
            text = f"{subject} {' '.join(verb.split())} a {noun}{clause.when_text('past')}"
        facts.append(clause.fact(subject, "has_pet", ref, text, negated=negated, confidence=0.9))
    name = match.group("name")
    if name and not negated and _is_name(name):
        facts.append(_naming_fact(clause, subject, ref, is_pet, name, 0.9))
    return facts


_LIKE_VERBS = {"love": "loves", "like": "likes", "enjoy": "enjoys", "adore": "adores"}


def _past(verb: str) -> str:
    return f"{verb}d" if verb.endswith("e") else f"{verb}ed"


_HATE_VERBS = {
    "hate": "hates",
    "dislike": "dislikes",
    "detest": "detests",
    "loathe": "loathes",
    "despise": "despises",
    "cannot stand": "cannot stand",
    "can not stand": "cannot stand",
    "cannot bear": "cannot bear",
}
_LIKE_FORMS = {
    form: (base, past)
    for base in _LIKE_VERBS
    for form, past in ((base, False), (f"{base}s", False), (_past(base), True))
}
_LIKE = re.compile(
    r"^(?:(?P<neg>do not|does not|did not|never|no longer)\s+)?"
    rf"(?P<verb>{_words(_LIKE_FORMS)})\s+(?P<object>.+)$",
    re.I,
)
_INTO = re.compile(
    r"^(?:am|is)\s+(?P<neg>not\s+|no\s+longer\s+)?(?P<verb>(?:(?:a|such\s+a)\s+)?(?:(?:big|huge|"
    r"massive|great|die-?hard)\s+)?fan\s+of|into|obsessed\s+with|passionate\s+about|crazy\s+about|"
    r"addicted\s+to|keen\s+on)\s+(?P<object>.+)$",
    re.I,
)
_HATE = re.compile(rf"^(?P<verb>(?:{_words(_HATE_VERBS)})s?)\s+(?P<object>.+)$", re.I)
_PREFER = re.compile(
    r"^(?:prefer|prefers)\s+(?P<object>.+?)(?:\s+(?:to|over|rather\s+than|instead\s+of)\s+"
    r"(?P<other>.+))?$",
    re.I,
)
_MORE_THAN = re.compile(r"^(?P<object>.+?)\s+(?:more|better)\s+than\s+(?P<other>.+)$", re.I)


def _preferences(pred: str, who: _Who, clause: _Clause) -> list[ExtractedFact] | None:
    match = _LIKE.match(pred)
    if match is not None:
        base, past = _LIKE_FORMS[match.group("verb").lower()]
        negated = bool(match.group("neg"))
        if past and not negated:
            return []  # "I loved the movie" reacts to something; "I never liked it" is a fact
        more = _MORE_THAN.match(match.group("object"))
        if more is not None and not negated:
            return _prefer(more.group("object"), more.group("other"), who, clause)
        return _likes(match.group("object"), base, negated, who, clause)
    match = _INTO.match(pred)
    if match is not None:
        negated = bool(match.group("neg"))
        phrase = " ".join(match.group("verb").lower().split())
        return _likes(match.group("object"), phrase, negated, who, clause, copula=True)
    match = _HATE.match(pred)
    if match is not None:
        verb = " ".join(match.group("verb").lower().split())
        verb = _HATE_VERBS.get(verb) or _HATE_VERBS.get(verb[:-1], verb)
        return _likes(match.group("object"), verb, True, who, clause, hate=True)
    match = _PREFER.match(pred)
    if match is None:
        return None
    return _prefer(match.group("object"), match.group("other"), who, clause)


def _likes(
    raw: str,
    verb: str,
    negated: bool,
    who: _Who,
    clause: _Clause,
    *,
    copula: bool = False,
    hate: bool = False,
) -> list[ExtractedFact]:
    subject, facts = who.subject, []
    infinitive = raw.lower().startswith("to ")
    items = [_clean_object(raw[3:])] if infinitive else _list_items(raw)
    for item in items:
        if item is None:
            continue
        said = f"to {item}" if infinitive else item
        shown = _third_person_text(said, clause.reading.subject)
        if copula:
            text = f"{subject} is {'not ' if negated else ''}{verb} {shown}"
        elif hate:
            text = f"{subject} {verb} {shown}"
        elif negated and _NO_LONGER.search(clause.clause):
            text = f"{subject} no longer {_LIKE_VERBS[verb]} {shown}"
        elif negated:
            text = f"{subject} does not {verb} {shown}"
        else:
            text = f"{subject} {_LIKE_VERBS[verb]} {shown}"
        importance = 0.55 if verb in {"love", "adore"} or "obsessed" in verb or hate else 0.5
        confidence = 0.85 if who.first_person else 0.75
        if item.lower().startswith(("the ", "this ", "that ")):
            confidence -= 0.2  # "I love the colors" is more often a reaction than a taste
        facts.append(
            clause.fact(
                subject,
                "likes",
                item,
                text,
                negated=negated,
                confidence=confidence,
                importance=importance,
            )
        )
    return facts


def _prefer(raw: str, other: str | None, who: _Who, clause: _Clause) -> list[ExtractedFact]:
    infinitive = raw.lower().startswith("to ")
    value = _clean_object(raw[3:] if infinitive else raw)
    if value is None:
        return []
    rival = _clean_object(other) if other else None
    shown = _third_person_text(f"to {value}" if infinitive else value, clause.reading.subject)
    text = f"{who.subject} prefers {shown}" + (f" over {rival}" if rival else "")
    return [clause.fact(who.subject, "prefers", value, text)]


_PLAY = re.compile(
    r"^(?:(?P<verb>play|plays|have been playing|has been playing)|(?:am|is)\s+learning(?:\s+to\s+"
    r"(?P<play>play))?)\s+(?P<object>.+)$",
    re.I,
)
_PLAY_CUT = re.compile(r"\s+(?:on|every|twice|once|with|at|in)\b.*$", re.I)
_NOT_PLAYED = re.compile(
    r"^(?:with|around|along|a role|a part|games with|a lot|a ton|so much|lots|more|new things)\b",
    re.I,
)


def _hobbies(pred: str, who: _Who, clause: _Clause) -> list[ExtractedFact] | None:
    match = _PLAY.match(pred)
    if match is None:
        return None
    raw = match.group("object")
    if _NOT_PLAYED.match(raw):
        return []
    learning = match.group("verb") is None
    raw = raw[3:] if learning and raw.lower().startswith("to ") else raw
    value = _clean_object(_PLAY_CUT.sub("", raw), max_words=5)
    if value is None:
        return []
    subject = who.subject
    if learning:
        verb = "is learning to play" if match.group("play") else "is learning"
        return [clause.fact(subject, "learning", value, f"{subject} {verb} {value}")]
    return [clause.fact(subject, "plays", value, f"{subject} plays {value}")]


_LIFE_EVENT_SOON = re.compile(
    r"^(?:am|is)\s+(?P<phrase>getting\s+(?:married|engaged|divorced|a\s+divorce)|having\s+a\s+"
    r"baby|expecting\s+a\s+baby|expecting|pregnant|graduating(?:\s+from\s+.+)?|retiring|"
    r"starting\s+a\s+new\s+job(?:\s+(?:at|as)\s+.+)?|starting\s+(?:college|university|school|"
    r"grad\s+school))$",
    re.I,
)
_PLAN = re.compile(
    r"^(?:(?:am|is)\s+planning\s+(?P<prep>to|on)|(?:plan|plans|intend|intends|have\s+decided|"
    r"has\s+decided|decided)\s+to|(?:am|is)\s+going\s+to|(?P<will>will))\s+(?P<object>.+)$",
    re.I,
)
_ON_THE_WAY = re.compile(
    r"^(?:am|is)\s+(?P<verb>moving|relocating|flying|traveling|travelling|heading|driving|"
    r"visiting|leaving\s+for)\s+(?P<object>.+)$",
    re.I,
)
_BASE_FORMS = {
    "moving": "move",
    "relocating": "relocate",
    "flying": "fly",
    "traveling": "travel",
    "travelling": "travel",
    "heading": "head",
    "driving": "drive",
    "visiting": "visit",
    "leaving for": "leave for",
}
_WANT = re.compile(
    r"^(?:want|wants|hope|hopes|am\s+hoping|is\s+hoping|dream\s+of|dreams\s+of|aim|aims|"
    r"am\s+aiming)\s+to\s+(?P<object>.+)$",
    re.I,
)
_CHATTY = re.compile(
    r"^(?:say|tell|ask|thank|know|hear|share|talk|let|check|think|answer|help|reply|respond|"
    r"remind|mention|add|clarify|explain|show|send|hug|get back|keep|try|see|be honest|be back|"
    r"be there|be fine|be ok|be okay|be right|do it|do that|do this|do my best|go now|sleep|"
    r"leave|stop|continue|come back|bring|not|never|remember|forget|always|start thinking|brag|"
    r"vent|rant|apologi[sz]e|make (?:it|this|that) (?:happen|work)|get there|have to|need|wait|"
    r"be (?!a\b|an\b|the\b))\b"
    r"|^(?:go|be|do)$",
    re.I,
)
_ENDS_WITH_PRONOUN = re.compile(r"\b(?:it|that|this|them|those|these|there|here)$", re.I)
_DESTINATION = re.compile(r"^(?:the|a|an|my|our)\b|^(?-i:[A-Z])", re.I)


def _clean_plan(raw: str) -> str | None:
    value = _clean_object(raw, max_words=12)
    if value is None or _CHATTY.match(value) or _ENDS_WITH_PRONOUN.search(value):
        return None
    return value


def _plans(pred: str, who: _Who, clause: _Clause) -> list[ExtractedFact] | None:
    subject = who.subject
    owner = clause.reading.subject
    match = _LIFE_EVENT_SOON.match(pred)
    if match is not None:
        phrase = " ".join(match.group("phrase").split())
        text = f"{subject} is {_third_person_text(phrase, owner)}{clause.when_text('future')}"
        return [clause.fact(subject, "event", phrase, text, importance=0.8)]
    match = _PLAN.match(pred)
    value: str | None
    if match is not None:
        raw = match.group("object")
        if _DESTINATION.match(raw) and pred.lower().startswith(("am going", "is going")):
            if clause.when is None:
                return []  # "I'm going to the gym" is about now, not a plan
            raw = f"go to {raw}"
        value = _clean_plan(raw)
        if value is None:
            return []
        prep = (match.group("prep") or "to").lower()
        text = (
            f"{subject} plans {prep} {_third_person_text(value, owner)}{clause.when_text('future')}"
        )
        confidence = 0.7 if match.group("will") else 0.85
        return [clause.fact(subject, "plans", value, text, confidence=confidence)]
    match = _ON_THE_WAY.match(pred)
    if match is not None:
        verb = " ".join(match.group("verb").lower().split())
        if clause.when is None and verb not in {"moving", "relocating"}:
            return []
        value = _clean_plan(f"{_BASE_FORMS[verb]} {match.group('object')}")
        if value is None:
            return []
        text = f"{subject} plans to {_third_person_text(value, owner)}{clause.when_text('future')}"
        return [clause.fact(subject, "plans", value, text, confidence=0.8, importance=0.6)]
    match = _WANT.match(pred)
    if match is None:
        return None
    value = _clean_plan(match.group("object"))
    if value is None:
        return []
    text = f"{subject} wants to {_third_person_text(value, owner)}"
    return [clause.fact(subject, "wants_to", value, text, confidence=0.75)]


_EVENT_VERBS = (
    "went", "visited", "attended", "traveled", "travelled", "flew", "drove", "met", "saw",
    "watched", "finished", "completed", "started", "joined", "ran", "hiked", "climbed", "won",
    "lost", "bought", "sold", "painted", "wrote", "published", "celebrated", "graduated", "got",
    "had", "took", "made", "baked", "cooked", "volunteered", "participated", "gave", "tried",
    "learned", "learnt", "organized", "organised", "hosted", "launched", "quit", "retired",
    "performed", "played", "spent", "returned", "received", "passed", "failed", "competed",
    "enrolled", "registered", "signed up"
)  # fmt: skip
_EVENT = re.compile(
    rf"^(?:(?P<perfect>have|has)\s+)?(?P<verb>{_words(_EVENT_VERBS)}|been\s+to)\b\s*(?P<object>.*)$",
    re.I,
)
_STANDALONE_EVENTS = frozenset({"graduated", "retired", "quit"})
_DULL_EVENT = re.compile(
    r"^(?:home|to bed|to sleep|back|out|there|here|away|fun|lucky|used to|confused|a chance|"
    r"the chance|a look|some sleep|a nap|a bit|a lot|so|sick|better|worse|tired|ready|up|"
    r"to feel|feeling|to get|to think|thinking|that|this|it|them|my best|our best|"
    r"(?:a|such a)\s+(?:(?:really|very|so)\s+)?(?:good|great|nice|lovely|fun|wonderful|amazing|"
    r"long|rough|bad|hard|busy|blast|awesome)(?:\s+(?:time|day|night|week|one|weekend))?)\b",
    re.I,
)
_LIFE_EVENTS = re.compile(
    r"^(?:got\s+(?:married|engaged|divorced|promoted|fired|laid off|a\s+promotion|my\s+degree)|"
    r"had\s+a\s+baby|graduated|retired|lost\s+my\s+job|quit\s+my\s+job|started\s+(?:college|"
    r"university|grad school|a\s+new\s+job|my\s+own\s+business|a\s+business))",
    re.I,
)


def _events(pred: str, who: _Who, clause: _Clause) -> list[ExtractedFact] | None:
    match = _EVENT.match(pred)
    if match is None:
        return None
    verb = " ".join(match.group("verb").lower().split())
    raw = match.group("object")
    if verb == "been to" and not match.group("perfect"):
        return []
    if verb in {"had", "got"} and (match.group("perfect") or re.match(r"to\b", raw, re.I)):
        return []  # "I've got a bike" is possession; "I had to leave" is no event
    obj = _clean_object(raw, max_words=12) if raw.strip() else ""
    if obj is None or (not obj and verb not in _STANDALONE_EVENTS) or _DULL_EVENT.match(obj):
        return []
    subject = who.subject
    owner = clause.reading.subject
    phrase = f"{verb} {obj}".strip()
    perfect = match.group("perfect")
    shown = f"{'has ' if perfect else ''}{_third_person_text(phrase, owner)}"
    text = f"{subject} {shown}{clause.when_text('past')}"
    importance = 0.8 if _LIFE_EVENTS.match(phrase) else 0.55 if clause.when else 0.45
    return [clause.fact(subject, "event", phrase, text, confidence=0.8, importance=importance)]


def _third_person_naming(pred: str, who: _Who, clause: _Clause) -> list[ExtractedFact] | None:
    """ "(my sister) is called Anna": the sentence names the relation after all."""
    if who.first_person or who.ref is None:
        return None
    match = re.match(rf"^(?:is\s+(?:called|named)|goes\s+by)\s+(?P<name>{_NAMES})", pred, re.I)
    if match is None:
        return None
    if not _is_name(match.group("name")):
        return []
    owner = clause.reading.subject
    return [_naming_fact(clause, owner, who.ref, who.is_pet, match.group("name"), 0.9)]


_PREDICATE_RULES: tuple[_PredicateRule, ...] = (
    _third_person_naming,
    _age,
    _identity,
    _diet_and_allergies,
    _places,
    _jobs,
    _have,
    _preferences,
    _hobbies,
    _plans,
    _events,
)
_CLAUSE_RULES: tuple[_ClauseRule, ...] = (
    _pronoun_naming,
    _my_name,
    _favorite,
    _my_thing,
    _my_date,
    _ref_name,
    _subject_predicate,
)


# Rewriting first person as third person ------------------------------------------------------

_FIRST_PERSON = re.compile(
    rf"\b(?:(?P<i>I)\s+(?P<adverbs>(?:(?:{_ADVERB})\s+)*)(?P<verb>[a-z]+)|(?P<alone>I)|(?P<my>my)"
    rf"|(?P<me>me|myself)|(?P<mine>mine))\b",
    re.I,
)
_UNINFLECTED = frozenset(
    {
        "can", "could", "will", "would", "shall", "should", "may", "might", "must", "was", "were",
        "went", "got", "had", "did", "saw", "made", "took", "came", "left", "met", "bought",
        "thought", "told", "said", "ran", "felt", "found", "gave", "knew", "lost", "wrote", "won",
        "began", "ate", "drank", "flew", "drove", "sang", "swam", "grew", "heard", "kept", "paid",
        "sent", "spent", "built", "taught", "caught", "brought", "sold", "became", "read", "put",
        "cut", "set", "let", "hit", "hurt", "quit"
    }
)  # fmt: skip
_IRREGULAR = {"am": "is", "have": "has", "do": "does", "go": "goes", "be": "is"}
_NOT_VERBS = frozenset({"and", "or", "but", "too", "alone", "personally", "myself", "also"})


def _third_person_verb(verb: str) -> str:
    low = verb.lower()
    if low in _IRREGULAR:
        return _IRREGULAR[low]
    if low in _UNINFLECTED or low.endswith("ed"):
        return verb
    if low.endswith(("s", "sh", "ch", "x", "z", "o")):
        return f"{verb}es"
    if low.endswith("y") and low[-2:-1] not in {"a", "e", "i", "o", "u"}:
        return f"{verb[:-1]}ies"
    return f"{verb}s"


def _third_person_text(text: str, subject: str) -> str:
    """ "my anniversary is on June 3rd" -> "user's anniversary is on June 3rd"."""

    def swap(match: re.Match[str]) -> str:
        if match.group("i"):
            verb = match.group("verb")
            if verb.lower() in _NOT_VERBS:
                return f"{subject} {match.group('adverbs')}{verb}"
            return f"{subject} {match.group('adverbs')}{_third_person_verb(verb)}"
        if match.group("me") and match.group("me").lower() == "myself":
            return "themselves"
        if match.group("alone") or match.group("me"):
            return subject
        return f"{subject}'s"

    return _FIRST_PERSON.sub(swap, text)
