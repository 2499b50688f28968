"""Pure text helpers shared by extraction, consolidation, query planning and summaries.

No Django and no models here: each module reads or rewrites plain strings. Where two callers
need a concept done differently (chat reading and statement comparison spell out different
contractions), the variants sit side by side under names that say which is which.
"""
