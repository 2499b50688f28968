"""Typographic quotes and whitespace brought to one plain form before text is read or compared."""

import re

# Phones and word processors type curly quotes and the modifier apostrophe; a no-break space
# reads as a space.
_PLAIN_QUOTES = {
    "\u2018": "'",
    "\u2019": "'",
    "\u02bc": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u00a0": " ",
}
_QUOTES = str.maketrans(_PLAIN_QUOTES)
# Statements being compared also read a backtick as an apostrophe ("doesn`t"). Chat that is
# read for facts keeps its backticks: they mostly fence code there, not contractions.
_QUOTES_AND_BACKTICKS = str.maketrans(_PLAIN_QUOTES | {"`": "'"})
_INLINE_SPACE = re.compile(r"[ \t\r\f\v]+")


def plain_quotes(text: str) -> str:
    """Curly quotes and the modifier apostrophe made straight, a no-break space a space."""
    return text.translate(_QUOTES)


def plain_quotes_and_backticks(text: str) -> str:
    """As ``plain_quotes``, and a backtick read as an apostrophe too."""
    return text.translate(_QUOTES_AND_BACKTICKS)


def collapse_inline_space(text: str) -> str:
    """Runs of spaces and tabs made one space; line breaks stay, as they end sentences."""
    return _INLINE_SPACE.sub(" ", text)


def collapse_space(text: str) -> str:
    """Every run of whitespace, line breaks included, made one space; no space at either end."""
    return " ".join(text.split())
