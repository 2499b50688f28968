"""Reads of memory. Every function takes the end user (or a thread of it) explicitly."""

from django.core.cache import cache
from django.db.models import QuerySet

from memory.models import Fact, Message
from tenants.models import EndUser, Thread


def facts_list(
    *, end_user: EndUser, include_superseded: bool = False, category: str | None = None
) -> QuerySet[Fact]:
    facts = Fact.objects.filter(end_user=end_user)
    if not include_superseded:
        facts = facts.filter(valid_to__isnull=True)
    if category:
        facts = facts.filter(category=category)
    return facts.defer("embedding", "search_vector")


def fact_get(*, end_user: EndUser, fact_id: int) -> Fact | None:
    return facts_list(end_user=end_user, include_superseded=True).filter(pk=fact_id).first()


def thread_messages(*, thread: Thread) -> QuerySet[Message]:
    return Message.objects.filter(thread=thread).defer("embedding", "search_vector")


SPEAKERS_CACHE_SECONDS = 3600


def speakers_cache_key(end_user: EndUser) -> str:
    return f"memory:speakers:{end_user.pk}"


def speakers_list(*, end_user: EndUser) -> list[str]:
    """The names of the people in the end user's history (named imports), cached."""
    key = speakers_cache_key(end_user)
    names: list[str] | None = cache.get(key)
    if names is None:
        names = sorted(
            Message.objects.filter(end_user=end_user)
            .exclude(name="")
            .values_list("name", flat=True)
            .distinct()
        )
        cache.set(key, names, SPEAKERS_CACHE_SECONDS)
    return names
