"""Contractions spelt out, in the two forms the callers need.

Reading chat for facts (``spell_out_chat_contractions``) and comparing stored statements
(``spell_out_contractions_lowercase``) share the idea but not the table, on purpose:

- Chat is read as typed, in any case, so the reading table also knows the spellings people type
  without an apostrophe ("im", "dont", "gonna") and writes "I" with its capital, because the
  words it spells out end up quoted in a fact's value and text.
- Statements are compared lowercased, after an extractor wrote them out in full; every regular
  "n't", "'re", "'ve", "'ll" and "'d" is spelt out by rule, and the irregular forms by a table.
  No apostrophe-less spellings: "cant", "wont" and "ill" are words of their own there.

The rule extractor's rules and consolidation's thresholds were tuned on these exact forms, so
merging the two tables would change which facts are found and which merge.
"""

import re

from memory.text.patterns import alternation

_CHAT_CONTRACTIONS = {
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
# Whole tokens only: a letter or an apostrophe on either side makes it part of something longer.
_CHAT_CONTRACTION = re.compile(rf"(?<![\w'])(?:{alternation(_CHAT_CONTRACTIONS)})(?![\w'])", re.I)

_IRREGULAR_CONTRACTIONS = {
    "can't": "cannot", "won't": "will not", "shan't": "shall not", "ain't": "is not",
    "i'm": "i am", "let's": "let us", "it's": "it is", "that's": "that is", "he's": "he is",
    "she's": "she is", "there's": "there is", "what's": "what is", "who's": "who is",
    "where's": "where is", "here's": "here is",
}  # fmt: skip
_IRREGULAR_CONTRACTION = re.compile(
    r"\b(?:" + "|".join(map(re.escape, _IRREGULAR_CONTRACTIONS)) + r")(?!\w)"
)
_NOT = re.compile(r"\b(\w+)n't\b")
_SUFFIXES = re.compile(r"\b(\w+)'(re|ve|ll|d)\b")
_SUFFIX_WORDS = {"re": "are", "ve": "have", "ll": "will", "d": "would"}


def spell_out_chat_contractions(text: str) -> str:
    """ "im gonna" -> "I am going to", in chat as typed, in any case."""
    return _CHAT_CONTRACTION.sub(lambda m: _CHAT_CONTRACTIONS[m.group().lower()], text)


def spell_out_contractions_lowercase(text: str) -> str:
    """ "user's sister can't come, she'll call" -> "... cannot come, she will call".

    ``text`` must be lowercase already; plain quotes are expected (see ``normalise``).
    """
    text = _IRREGULAR_CONTRACTION.sub(lambda m: _IRREGULAR_CONTRACTIONS[m.group()], text)
    text = _NOT.sub(r"\1 not", text)
    return _SUFFIXES.sub(lambda m: f"{m.group(1)} {_SUFFIX_WORDS[m.group(2)]}", text)
