from typing import Any

from django.core.management.base import BaseCommand

from tenants.demo import DEMO_SLUG
from tenants.selectors import vendor_get_by_slug
from tenants.services import vendor_create


class Command(BaseCommand):
    help = "Create the demo vendor on first run and print its API key (used by `make run`)."

    def handle(self, *args: Any, **options: Any) -> None:
        if vendor_get_by_slug(slug=DEMO_SLUG) is not None:
            self.stdout.write(
                "Demo vendor exists. A new key: python manage.py create_api_key demo --name mykey"
            )
            return
        _vendor, _api_key, raw_key = vendor_create(name="Demo", actor="command:ensure_demo_vendor")
        self.stdout.write(self.style.SUCCESS("Created the demo vendor (slug 'demo')."))
        self.stdout.write(f"Its API key, shown once: {raw_key}")
