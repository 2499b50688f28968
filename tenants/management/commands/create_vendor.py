import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email

from tenants.models import Plan
from tenants.services import VendorInputError, vendor_create


class Command(BaseCommand):
    help = "Create a vendor with its first API key (shown once) and, optionally, its owner."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The vendor's display name; the slug derives from it.")
        parser.add_argument("--owner-email", help="Make the user with this email the owner.")
        parser.add_argument("--plan", choices=Plan.values, default=Plan.FREE)
        parser.add_argument(
            "--allowed-origin",
            action="append",
            default=[],
            dest="allowed_origins",
            metavar="ORIGIN",
            help="A web origin (https://shop.example) whose pages may embed the chat widget; "
            "repeat for several.",
        )
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        owner_email = options["owner_email"]
        if owner_email:
            try:
                validate_email(owner_email)
            except ValidationError:
                raise CommandError(f"Not an email address: {owner_email!r}") from None
        try:
            vendor, _api_key, raw_key = vendor_create(
                name=options["name"],
                owner_email=owner_email,
                plan=options["plan"],
                allowed_origins=options["allowed_origins"],
                actor="command:create_vendor",
            )
        except VendorInputError as exc:
            raise CommandError(exc.message) from None
        if options["json"]:
            payload = {"vendor_id": str(vendor.id), "slug": vendor.slug, "api_key": raw_key}
            self.stdout.write(json.dumps(payload))
            return
        self.stdout.write(self.style.SUCCESS(f"Created vendor {vendor.name!r} ({vendor.slug})."))
        self.stdout.write(f"API key (shown once, store it now): {raw_key}")
