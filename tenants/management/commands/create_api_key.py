import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.models import Scope
from tenants.selectors import vendor_get_by_slug
from tenants.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a vendor. The key is printed once and never stored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("vendor_slug")
        parser.add_argument("--name", default="default", help="A label for the key.")
        parser.add_argument(
            "--scope",
            action="append",
            choices=Scope.values,
            dest="scopes",
            help="Limit the key to this scope (repeatable). Default: every scope.",
        )
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        vendor = vendor_get_by_slug(slug=options["vendor_slug"])
        if vendor is None:
            raise CommandError(f"No vendor with slug {options['vendor_slug']!r}.")
        api_key, raw_key = api_key_create(
            vendor=vendor,
            name=options["name"],
            scopes=options["scopes"],
            actor="command:create_api_key",
        )
        if options["json"]:
            payload = {
                "vendor_id": str(vendor.id),
                "slug": vendor.slug,
                "prefix": api_key.prefix,
                "scopes": api_key.scopes,
                "api_key": raw_key,
            }
            self.stdout.write(json.dumps(payload))
            return
        self.stdout.write(self.style.SUCCESS(f"Created key {api_key.prefix} for {vendor.slug}."))
        self.stdout.write(f"API key (shown once, store it now): {raw_key}")
