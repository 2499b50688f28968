"""Starting a prune of one vendor in the background (the admin's "Prune now")."""

import logging
import threading
from uuid import UUID

from django.conf import settings
from django.db import close_old_connections

from memory.jobs.tasks import prune_vendor_task
from memory.pruning import vendor_prune
from tenants.models import Vendor

logger = logging.getLogger(__name__)


def prune_start(*, vendor: Vendor, actor: str) -> None:
    """On a Celery worker when there is a broker; else in a thread of this process (the
    embedded mode), or at once where jobs run inline (tests)."""
    mode = settings.MEMORY_BACKGROUND_JOBS
    if mode == "celery":
        prune_vendor_task.delay(str(vendor.pk), actor)
    elif mode == "inline":
        vendor_prune(vendor=vendor, actor=actor)
    else:
        threading.Thread(
            target=_prune_in_thread, args=(vendor.pk, actor), name="infyn-prune", daemon=True
        ).start()


def _prune_in_thread(vendor_id: UUID, actor: str) -> None:
    try:
        vendor = Vendor.objects.filter(pk=vendor_id).first()
        if vendor is not None:
            vendor_prune(vendor=vendor, actor=actor)
    except Exception:  # resumable: the next run goes on where this one stopped
        logger.exception("memory: prune of vendor %s failed", vendor_id)
    finally:
        close_old_connections()
