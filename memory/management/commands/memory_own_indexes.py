from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from memory.indexes import own_indexes_plan, own_indexes_sync


class Command(BaseCommand):
    help = (
        "Build partial indexes of their own for end users with long histories, and drop "
        "those no longer needed (memory.indexes). Runs every 10 minutes under Celery beat."
    )
    requires_migrations_checks = True

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--from-messages",
            type=int,
            default=None,
            help="Message count from which an end user gets its own indexes "
            "(default: INFYN_OWN_INDEX_FROM_MESSAGES).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would be built and dropped."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        given: int | None = options["from_messages"]
        threshold = settings.MEMORY_OWN_INDEX_FROM_MESSAGES if given is None else given
        if threshold < 1:
            raise CommandError("--from-messages must be a positive number of messages.")
        if options["dry_run"]:
            plan = own_indexes_plan(from_messages=threshold)
            self.stdout.write(f"{plan.end_users} end users with at least {threshold} messages.")
            for index in plan.to_create:
                self.stdout.write(f"would build {index.name}")
            for name in plan.to_drop:
                self.stdout.write(f"would drop {name}")
            if not plan.to_create and not plan.to_drop:
                self.stdout.write("Nothing to do.")
            return

        bar: tqdm[Any] | None = None

        def step(what: str, steps: int) -> None:
            nonlocal bar
            if bar is None:
                bar = tqdm(total=steps, unit="index", file=self.stderr)
            else:
                bar.update(1)
            bar.set_description(what)

        report = own_indexes_sync(from_messages=threshold, on_step=step)
        if bar is not None:
            bar.update(1)
            bar.close()
        if report.skipped_locked:
            raise CommandError("Another sync of own indexes is running; nothing was done.")
        self.stdout.write(
            self.style.SUCCESS(
                f"{report.end_users} end users with at least {threshold} messages: "
                f"{len(report.created)} indexes built, {len(report.dropped)} dropped."
            )
        )
