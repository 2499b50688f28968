"""Keep memory rows whole in their heap page instead of moving the embedding to TOAST.

A row holds a 1.5 kB vector plus its texts, a little over PostgreSQL's default 2 kB toast
target, so the vector (pgvector's storage is EXTERNAL) went out of line: every candidate a
search scores then cost a TOAST index lookup and another page read to compute its cosine
(more than half of a search's time for an end user with 100,000 messages). With the target
at its maximum, rows under 8 kB stay inline. Existing rows move back when rewritten
(VACUUM FULL, or pg_repack without the lock); see docs/operations.md.
"""

from django.db import migrations

TABLES = ("memory_message", "memory_fact", "memory_summary")


class Migration(migrations.Migration):
    dependencies = [
        ("memory", "0004_term_stat_counts_bigint"),
    ]

    operations = [
        migrations.RunSQL(
            sql=[f"ALTER TABLE {table} SET (toast_tuple_target = 8160)" for table in TABLES],
            reverse_sql=[f"ALTER TABLE {table} RESET (toast_tuple_target)" for table in TABLES],
        ),
    ]
