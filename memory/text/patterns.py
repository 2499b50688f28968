"""Building regular expressions out of word lists."""

import re
from collections.abc import Iterable


def alternation(phrases: Iterable[str]) -> str:
    """A regex alternation of words and phrases, longest first, spaces matching any whitespace.

    Longest first so that "best friend" wins over "friend" and "sept" over "sep".
    """
    return "|".join(
        r"\s+".join(map(re.escape, phrase.split()))
        for phrase in sorted(phrases, key=len, reverse=True)
    )
