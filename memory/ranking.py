"""How much each retrieval signal counts: the weights, their validation and the platform's
defaults. No database here, so that models can validate a vendor's overrides with it."""

import math
from dataclasses import dataclass, fields, replace
from typing import Any

from django.conf import settings

from infyn.lib.errors import DomainError


class RankingWeightsError(DomainError):
    """Ranking weights that cannot be used: an unknown name, or a value out of range."""


@dataclass(frozen=True)
class RankingWeights:
    """How much each signal counts. Defaults here and in settings, overridable per vendor."""

    similarity: float = 1.0
    lexical: float = 0.5
    date: float = 0.3
    neighbour: float = 0.4
    thread_context: float = 0.4
    speaker: float = 0.5
    recency: float = 0.05
    thread: float = 0.05
    importance: float = 0.05
    mentions: float = 0.05
    fact_bias: float = 0.0
    summary_bias: float = 0.0
    half_life_days: float = 30.0
    candidates: int = 50
    # Terms in more messages than this still score but do not generate candidates: on a
    # long history they would match thousands of rows, every one fetched and scored.
    common_term_documents: int = 1000
    duplicate_ratio: float = 92.0

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise RankingWeightsError(
                    f"Ranking weight {item.name} must be a number, got {value!r}."
                )
            # Tiny weights are refused too: their products underflow, an error in PostgreSQL.
            if not math.isfinite(value) or 0 < abs(value) < 1e-6:
                raise RankingWeightsError(
                    f"Ranking weight {item.name} must be 0 or a finite number of at least "
                    f"1e-6 in size, got {value!r}."
                )
        if self.half_life_days <= 0:
            raise RankingWeightsError("half_life_days must be above 0.")
        for name in ("candidates", "common_term_documents"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise RankingWeightsError(f"{name} must be a whole number, at least 1.")
        if not 0 <= self.duplicate_ratio <= 100:
            raise RankingWeightsError("duplicate_ratio must be within 0 and 100.")

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> "RankingWeights":
        _refuse_unknown_names(values)
        return cls(**values)

    def merged(self, overrides: dict[str, Any] | None) -> "RankingWeights":
        if not overrides:
            return self
        _refuse_unknown_names(overrides)
        return replace(self, **overrides)


def _refuse_unknown_names(values: dict[str, Any]) -> None:
    known = {f.name for f in fields(RankingWeights)}
    unknown = set(values) - known
    if unknown:
        raise RankingWeightsError(f"Unknown ranking weights: {', '.join(sorted(unknown))}")


def default_weights() -> RankingWeights:
    return RankingWeights.from_mapping(settings.MEMORY_RANKING)
