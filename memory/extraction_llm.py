"""Fact extraction by a language model, with output constrained to a JSON schema.

Used alongside the rule-based extractor when INFYN_MEMORY_LLM_EXTRACTION says the
configured model is capable. Whatever the model returns is validated and normalised
before it becomes an ExtractedFact; anything malformed is dropped, never stored.
"""

import re
from datetime import datetime
from typing import Any

from infyn.lib.llm.client import chat_completion_json
from memory.extraction import ExtractedFact, FactCategory, attribute_profile

LLM_EXTRACTOR_VERSION = "llm-1"
MAX_FACTS = 10

FACTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "facts": {
            "type": "array",
            "maxItems": MAX_FACTS,
            "items": {
                "type": "object",
                "properties": {
                    "attribute": {"type": "string"},
                    "value": {"type": "string"},
                    "text": {"type": "string"},
                    "category": {"type": "string", "enum": [c.value for c in FactCategory]},
                    "importance": {"type": "number", "minimum": 0, "maximum": 1},
                    "negated": {"type": "boolean"},
                },
                "required": ["attribute", "value", "text", "category", "importance", "negated"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["facts"],
    "additionalProperties": False,
}

_INSTRUCTIONS = (
    "You extract durable facts that a chat message states about its speaker: identity, "
    "preferences, relationships, events with their dates, plans, attributes. Only facts the "
    "speaker states about themselves; nothing about other people's opinions, no questions, no "
    "hypotheticals. For each fact give a snake_case attribute (name, lives_in, works_as, likes, "
    "sister, dog_name, event, plans ...), the value, and a standalone third-person sentence "
    "naming the speaker. Resolve relative dates against the date the message was said. "
    "Return an empty list when the message states nothing lasting."
)
_ATTRIBUTE = re.compile(r"[^a-z0-9_]+")


def extract_facts_llm(
    text: str, *, speaker: str | None = None, said_at: datetime | None = None
) -> list[ExtractedFact]:
    """Facts the model finds in one message; raises LLMUnavailableError when it cannot answer."""
    subject = speaker or "user"
    when = said_at.strftime("%d %B %Y") if said_at else "unknown"
    reply = chat_completion_json(
        messages=[
            {"role": "system", "content": _INSTRUCTIONS},
            {"role": "user", "content": f"Speaker: {subject}\nSaid on: {when}\nMessage: {text}"},
        ],
        schema=FACTS_SCHEMA,
        schema_name="facts",
        max_tokens=600,
    )
    facts = reply.get("facts")
    if not isinstance(facts, list):
        return []
    return [fact for item in facts[:MAX_FACTS] if (fact := _to_fact(item, subject)) is not None]


def _to_fact(item: Any, subject: str) -> ExtractedFact | None:
    if not isinstance(item, dict):
        return None
    attribute = _ATTRIBUTE.sub("_", str(item.get("attribute", "")).strip().lower()).strip("_")
    value = str(item.get("value", "")).strip()[:500]
    statement = str(item.get("text", "")).strip()[:1000]
    if not attribute or not value or not statement:
        return None
    try:
        category = FactCategory(str(item.get("category")))
    except ValueError:
        category = attribute_profile(attribute)[0]
    try:
        importance = min(1.0, max(0.0, float(item.get("importance", 0.5))))
    except (TypeError, ValueError):
        importance = 0.5
    return ExtractedFact(
        subject=subject,
        attribute=attribute[:100],
        value=value,
        text=statement,
        category=category,
        importance=importance,
        confidence=0.7,
        negated=bool(item.get("negated", False)),
        multi_valued=attribute_profile(attribute)[2],
    )
