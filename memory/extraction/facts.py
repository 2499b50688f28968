"""What the extractor returns: a fact, its category, and what each attribute usually is."""

from dataclasses import dataclass
from enum import StrEnum

from memory.extraction.vocabulary import RELATIONS, SINGLE_RELATIONS


class FactCategory(StrEnum):
    """The kind of a fact, as stored in ``Fact.category`` (the model takes its choices here)."""

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
_RELATION_ATTRIBUTES = frozenset(RELATIONS.values())


def attribute_profile(attribute: str) -> tuple[FactCategory, float, bool]:
    """Category, usual importance and whether many values may hold at once, by attribute."""
    if attribute in _PROFILES:
        return _PROFILES[attribute]
    if attribute in _RELATION_ATTRIBUTES:
        return FactCategory.RELATIONSHIP, 0.8, attribute not in SINGLE_RELATIONS
    if attribute.endswith("_name"):  # a pet's name: "dog_name"
        return FactCategory.RELATIONSHIP, 0.7, True
    if attribute.startswith("has_"):  # a count: "has_kids"
        return FactCategory.RELATIONSHIP, 0.75, False
    if attribute.startswith("favorite_"):
        return FactCategory.PREFERENCE, 0.55, False
    if attribute.endswith("_date"):  # "anniversary_date"
        return FactCategory.EVENT, 0.7, False
    return FactCategory.OTHER, 0.5, False
