from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from memory.pruning import PruneReport, prune_preview, vendor_prune, vendors_to_prune
from tenants.models import Vendor


class Command(BaseCommand):
    help = (
        "Apply the retention policies now: every vendor with a policy, or one with --vendor."
        " --dry-run only counts what would be removed."
    )
    requires_migrations_checks = True

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--vendor", metavar="SLUG", help="Only this vendor.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what a run would remove; remove nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["vendor"]:
            vendor = Vendor.objects.filter(slug=options["vendor"]).first()
            if vendor is None:
                raise CommandError(f"No vendor with slug {options['vendor']!r}.")
            vendors = [vendor]
        else:
            vendors = vendors_to_prune()
        if not vendors:
            self.stdout.write("No vendor has a retention rule: nothing to prune.")
            return
        for vendor in vendors:
            report = self._prune(vendor, dry_run=options["dry_run"])
            removed = ", ".join(f"{count} {tier}" for tier, count in report.counts.items())
            verb = "would remove" if report.dry_run else "removed"
            self.stdout.write(f"{vendor.slug}: {verb} {removed}")

    def _prune(self, vendor: Vendor, *, dry_run: bool) -> PruneReport:
        if dry_run:
            return vendor_prune(vendor=vendor, actor="command:memory_prune", dry_run=True)
        # The preview's total sizes the bar; rows written meanwhile may make the run differ.
        total = sum(prune_preview(vendor=vendor).values())
        with tqdm(total=total, desc=vendor.slug, unit="row", disable=None) as bar:
            return vendor_prune(vendor=vendor, actor="command:memory_prune", progress=bar.update)
