import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from inference.worker import (
    printable_argv,
    run_forwarding_signals,
    vllm_executable,
    vllm_serve_argv,
)

NOT_INSTALLED = (
    "vLLM is not installed here: install the `gpu` extra on a GPU host: "
    "pip install 'infyn[gpu]'. Without a GPU, set INFYN_LLM_BACKEND=local (the small "
    "in-process model) or INFYN_LLM_BACKEND=openai with INFYN_LLM_BASE_URL (any "
    "OpenAI-compatible server) and run no inference worker."
)


class Command(BaseCommand):
    help = (
        "Run the inference worker: vLLM's OpenAI-compatible server for "
        "INFYN_LLM_BACKEND=vllm, configured by the INFYN_VLLM_* settings."
    )
    # It serves no Django request: checks would only import the web tier.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model", help="Model to serve (default: INFYN_VLLM_MODEL).")
        parser.add_argument("--host", help="Address to bind (default: INFYN_VLLM_HOST).")
        parser.add_argument("--port", type=int, help="Port to bind (default: INFYN_VLLM_PORT).")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print the vLLM command (API key masked) and exit.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        model = options["model"] or settings.VLLM_MODEL
        # The name clients ask for. A `local` configuration has no client of the worker,
        # and its LLM_MODEL names the local model, so the worker keeps the model's name.
        served_model_name = settings.LLM_MODEL if settings.LLM_BACKEND != "local" else model
        executable = vllm_executable()
        try:
            argv = vllm_serve_argv(
                executable=executable or ["vllm"],
                model=model,
                host=options["host"] or settings.VLLM_HOST,
                port=options["port"] or settings.VLLM_PORT,
                gpu_memory_utilization=settings.VLLM_GPU_MEMORY_UTILIZATION,
                max_model_len=settings.VLLM_MAX_MODEL_LEN,
                quantization=settings.VLLM_QUANTIZATION,
                prefix_caching=settings.VLLM_PREFIX_CACHING,
                served_model_name=served_model_name,
                api_key=settings.LLM_API_KEY,
                extra_args=settings.VLLM_EXTRA_ARGS,
            )
        except ValueError as exc:
            raise CommandError(f"INFYN_VLLM_EXTRA_ARGS does not split: {exc}") from None
        if options["dry_run"]:
            self.stdout.write(printable_argv(argv))
            return
        if executable is None:
            raise CommandError(NOT_INSTALLED)

        connections.close_all()  # the worker's lifetime is long; hold no database connection
        self.stderr.write(f"Starting vLLM: {printable_argv(argv)}")
        try:
            returncode = run_forwarding_signals(argv)
        except OSError as exc:
            raise CommandError(f"Could not start vLLM: {exc}") from None
        if returncode:
            sys.exit(returncode)
