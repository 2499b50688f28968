"""The dedicated inference worker: vLLM's OpenAI-compatible server, run as a child process.

``manage.py inference_worker`` builds the ``vllm serve`` command line from settings
(``vllm_serve_argv``) and runs it with ``run_forwarding_signals``, so that a supervisor's
stop signal reaches vLLM and vLLM's exit status reaches the supervisor.
"""

import importlib.util
import os
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

API_KEY_MASK = "***"


def vllm_executable() -> list[str] | None:
    """How to start vLLM's CLI here, or None where vLLM is not installed.

    The ``vllm`` console script is the documented entry; this interpreter's own comes first
    (a virtual environment need not be on PATH). An installed package without its script
    is run as a module with this interpreter.
    """
    search_path = os.pathsep.join(
        [str(Path(sys.executable).parent), os.environ.get("PATH", os.defpath)]
    )
    script = shutil.which("vllm", path=search_path)
    if script:
        return [script]
    if importlib.util.find_spec("vllm") is not None:
        return [sys.executable, "-m", "vllm.entrypoints.cli.main"]
    return None


def vllm_serve_argv(
    *,
    executable: Sequence[str],
    model: str,
    host: str,
    port: int,
    gpu_memory_utilization: float,
    max_model_len: int,
    quantization: str = "",
    prefix_caching: bool = True,
    served_model_name: str = "",
    api_key: str = "",
    extra_args: str = "",
) -> list[str]:
    """The ``vllm serve`` command line; ``extra_args`` is shell-split and goes last.

    Raises ValueError when ``extra_args`` does not split (an unclosed quote).
    """
    argv = [
        *executable,
        "serve",
        model,
        "--host",
        host,
        "--port",
        str(port),
        "--gpu-memory-utilization",
        str(gpu_memory_utilization),
        "--max-model-len",
        str(max_model_len),
    ]
    if quantization:
        argv += ["--quantization", quantization]
    # Explicit both ways: vLLM's default has changed between versions.
    argv.append("--enable-prefix-caching" if prefix_caching else "--no-enable-prefix-caching")
    if served_model_name and served_model_name != model:
        argv += ["--served-model-name", served_model_name]
    if api_key:
        argv += ["--api-key", api_key]
    return argv + shlex.split(extra_args)


def printable_argv(argv: Sequence[str]) -> str:
    """The command as a shell would take it, with any API key masked."""
    shown = list(argv)
    for index, arg in enumerate(shown):
        if arg == "--api-key" and index + 1 < len(shown):
            shown[index + 1] = API_KEY_MASK
        elif arg.startswith("--api-key="):
            shown[index] = f"--api-key={API_KEY_MASK}"
    return shlex.join(shown)


def run_forwarding_signals(argv: Sequence[str]) -> int:
    """Run ``argv``, pass SIGTERM and SIGINT on to it, and return its exit status.

    The child gets a process group of its own, so a terminal's Ctrl-C reaches it once
    (through this process) rather than twice. A child ended by a signal gives 128 + the
    signal number, as a shell reports it. Call from the main thread.
    """
    pending: list[int] = []
    child: subprocess.Popen[bytes] | None = None

    def forward(signum: int, _frame: FrameType | None) -> None:
        if child is None:
            pending.append(signum)  # arrived while the child was starting
        else:
            child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        child = subprocess.Popen(argv, process_group=0)  # noqa: S603 (argv from settings)
        for signum in pending:
            child.send_signal(signum)
        returncode = child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 - returncode if returncode < 0 else returncode
