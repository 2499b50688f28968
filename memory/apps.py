from django.apps import AppConfig
from django.conf import settings
from django.core.signals import setting_changed


class MemoryConfig(AppConfig):
    name = "memory"
    verbose_name = "Memory"

    def ready(self) -> None:
        # Here, not at the top: these import models, which exist once the apps are loaded.
        from memory.jobs.runners import runner_follows_its_setting, runner_use

        runner_use(settings.MEMORY_BACKGROUND_JOBS)
        setting_changed.connect(runner_follows_its_setting, dispatch_uid="memory.jobs.runner")
