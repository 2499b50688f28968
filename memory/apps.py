from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from memory.ranking import RankingWeightsError, default_weights


class MemoryConfig(AppConfig):
    name = "memory"
    verbose_name = "Memory"

    def ready(self) -> None:
        check_ranking_defaults()
        # Here, not at the top: these import models, which exist once the apps are loaded.
        from memory.jobs.runners import runner_follows_its_setting, runner_use

        runner_use(settings.MEMORY_BACKGROUND_JOBS)
        setting_changed.connect(runner_follows_its_setting, dispatch_uid="memory.jobs.runner")


def check_ranking_defaults() -> None:
    """Refuse to start with platform-wide weights that would fail every search."""
    try:
        default_weights()
    except RankingWeightsError as exc:
        raise ImproperlyConfigured(f"INFYN_RANKING_WEIGHTS: {exc.message}") from None
