from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.api_keys import api_key_split
from tenants.selectors import api_key_get_by_prefix
from tenants.services import api_key_revoke


class Command(BaseCommand):
    help = "Revoke an API key by its prefix (the part after 'infyn_'); the full key works too."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        given: str = options["prefix"]
        prefix = api_key_split(given) or given
        api_key = api_key_get_by_prefix(prefix=prefix)
        if api_key is None:
            raise CommandError(f"No API key with prefix {prefix!r}.")
        if not api_key.is_active:
            self.stdout.write(f"Key {prefix} of {api_key.vendor.slug} was already revoked.")
            return
        api_key_revoke(api_key=api_key, actor="command:revoke_api_key")
        self.stdout.write(self.style.SUCCESS(f"Revoked key {prefix} of {api_key.vendor.slug}."))
