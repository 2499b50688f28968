"""``manage.py inference_worker``: the vLLM command line it builds, and how it runs it."""

import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from inference import worker
from inference.management.commands import inference_worker
from inference.worker import printable_argv, run_forwarding_signals, vllm_serve_argv
from tests.infyn.servers import ROOT, free_port

WORKER_SETTINGS = {
    "LLM_BACKEND": "vllm",
    "VLLM_MODEL": "org/chat-model-AWQ",
    "VLLM_HOST": "127.0.0.1",
    "VLLM_PORT": 8101,
    "VLLM_GPU_MEMORY_UTILIZATION": 0.85,
    "VLLM_MAX_MODEL_LEN": 4096,
    "VLLM_QUANTIZATION": "awq",
    "VLLM_PREFIX_CACHING": False,
    "VLLM_EXTRA_ARGS": "--max-num-seqs 64 --chat-template '/etc/infyn/chat template.jinja'",
    "LLM_MODEL": "chat",
    "LLM_API_KEY": "worker-secret",
}


def serve_args(argv: list[str]) -> list[str]:
    """What follows the executable, which differs between hosts."""
    return argv[argv.index("serve") :]


def dry_run(*args: str) -> str:
    out = StringIO()
    call_command("inference_worker", "--dry-run", *args, stdout=out)
    return out.getvalue().strip()


def argv_for(**overrides: Any) -> list[str]:
    options: dict[str, Any] = {
        "executable": ["vllm"],
        "model": "org/model",
        "host": "127.0.0.1",
        "port": 8001,
        "gpu_memory_utilization": 0.9,
        "max_model_len": 8192,
    }
    return vllm_serve_argv(**{**options, **overrides})


# --- The command line -------------------------------------------------------------------


@override_settings(**WORKER_SETTINGS)
def test_dry_run_prints_the_command_built_from_settings() -> None:
    printed = shlex.split(dry_run())

    assert serve_args(printed) == [
        "serve",
        "org/chat-model-AWQ",
        "--host",
        "127.0.0.1",
        "--port",
        "8101",
        "--gpu-memory-utilization",
        "0.85",
        "--max-model-len",
        "4096",
        "--quantization",
        "awq",
        "--no-enable-prefix-caching",
        "--served-model-name",
        "chat",
        "--api-key",
        "***",
        "--max-num-seqs",
        "64",
        "--chat-template",
        "/etc/infyn/chat template.jinja",
    ]


@override_settings(**WORKER_SETTINGS)
def test_model_host_and_port_options_override_settings() -> None:
    printed = shlex.split(dry_run("--model", "org/other", "--host", "10.0.0.5", "--port", "9000"))

    args = serve_args(printed)
    assert args[1] == "org/other"
    assert args[args.index("--host") + 1] == "10.0.0.5"
    assert args[args.index("--port") + 1] == "9000"
    # Clients still ask for the configured name.
    assert args[args.index("--served-model-name") + 1] == "chat"


@override_settings(**WORKER_SETTINGS)
def test_the_api_key_is_passed_to_vllm_but_masked_when_printed() -> None:
    assert "worker-secret" not in dry_run()

    argv = argv_for(api_key="worker-secret", extra_args="--api-key=second-secret")
    assert argv[argv.index("--api-key") + 1] == "worker-secret"
    printed = printable_argv(argv)
    assert "secret" not in printed
    assert "--api-key '***'" in printed
    assert "'--api-key=***'" in printed


def test_without_an_api_key_the_worker_is_open() -> None:
    assert "--api-key" not in argv_for(api_key="")


def test_quantization_is_left_to_vllm_when_unset() -> None:
    assert "--quantization" not in argv_for(quantization="")
    argv = argv_for(quantization="fp8")
    assert argv[argv.index("--quantization") + 1] == "fp8"


def test_prefix_caching_is_set_explicitly_either_way() -> None:
    on, off = argv_for(prefix_caching=True), argv_for(prefix_caching=False)

    assert "--enable-prefix-caching" in on
    assert "--no-enable-prefix-caching" not in on
    assert "--no-enable-prefix-caching" in off
    assert "--enable-prefix-caching" not in off


def test_extra_args_are_shell_split_and_come_last() -> None:
    argv = argv_for(extra_args="--max-num-seqs 64  --chat-template 'a b.jinja'")

    assert argv[-4:] == ["--max-num-seqs", "64", "--chat-template", "a b.jinja"]


@override_settings(**{**WORKER_SETTINGS, "VLLM_EXTRA_ARGS": "--chat-template 'unclosed"})
def test_extra_args_that_do_not_split_are_refused() -> None:
    with pytest.raises(CommandError, match="INFYN_VLLM_EXTRA_ARGS"):
        dry_run()


@override_settings(**{**WORKER_SETTINGS, "LLM_MODEL": "org/chat-model-AWQ"})
def test_the_served_name_is_left_out_when_it_is_the_model() -> None:
    assert "--served-model-name" not in dry_run()


@override_settings(**{**WORKER_SETTINGS, "LLM_BACKEND": "local", "LLM_MODEL": "SmolLM2"})
def test_a_local_configuration_does_not_rename_the_served_model() -> None:
    assert "SmolLM2" not in dry_run()


# --- Running it -------------------------------------------------------------------------


def test_without_vllm_the_command_fails_with_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(inference_worker, "vllm_executable", lambda: None)

    with pytest.raises(CommandError, match=r"vLLM is not installed here.*infyn\[gpu\]"):
        call_command("inference_worker")


@pytest.mark.skipif(worker.vllm_executable() is not None, reason="vLLM is installed here")
def test_manage_py_without_vllm_exits_non_zero_and_touches_no_database() -> None:
    # A database URL nothing listens on: the command must not need one.
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "infyn.settings",
        "DATABASE_URL": f"postgres://nobody@127.0.0.1:{free_port()}/nothing",
    }
    manage = [sys.executable, str(ROOT / "manage.py"), "inference_worker"]

    refused = subprocess.run(manage, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    printed = subprocess.run(
        [*manage, "--dry-run"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )

    assert refused.returncode != 0
    assert "vLLM is not installed here" in refused.stderr
    assert "pip install 'infyn[gpu]'" in refused.stderr
    assert "INFYN_LLM_BACKEND=local" in refused.stderr
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.startswith("vllm serve ")


def test_the_command_runs_vllm_and_exits_with_its_status(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    # given a stand-in for vLLM that shows its arguments and fails with status 3
    fake_vllm = [sys.executable, "-c", "import sys; print(sys.argv[1:]); sys.exit(3)"]
    monkeypatch.setattr(inference_worker, "vllm_executable", lambda: fake_vllm)

    # when
    log = StringIO()
    with override_settings(**WORKER_SETTINGS), pytest.raises(SystemExit) as exited:
        call_command("inference_worker", stderr=log)

    # then
    assert exited.value.code == 3
    shown = capfd.readouterr().out
    assert "'serve', 'org/chat-model-AWQ'" in shown
    assert "'--api-key', 'worker-secret'" in shown
    assert "--api-key '***'" in log.getvalue()  # the log shows the command, not the key
    assert "worker-secret" not in log.getvalue()


def test_a_stop_signal_is_passed_to_the_child(tmp_path: Path) -> None:
    # given a child that exits with 7 on SIGTERM, once it has said it is ready
    ready = tmp_path / "ready"
    child = (
        "import signal, sys, time, pathlib\n"
        "signal.signal(signal.SIGTERM, lambda *_: sys.exit(7))\n"
        f"pathlib.Path({str(ready)!r}).touch()\n"
        "time.sleep(60)\n"
        "sys.exit(1)\n"
    )

    def stop_when_ready() -> None:
        deadline = time.monotonic() + 30
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGTERM)  # as a supervisor stops this process

    # when
    handler_before = signal.getsignal(signal.SIGTERM)
    threading.Thread(target=stop_when_ready, daemon=True).start()
    started = time.monotonic()
    status = run_forwarding_signals([sys.executable, "-c", child])

    # then the child got it and chose its own exit status, and this process lives on
    assert status == 7
    assert time.monotonic() - started < 30
    assert signal.getsignal(signal.SIGTERM) == handler_before


def test_a_child_killed_by_a_signal_exits_as_a_shell_reports_it() -> None:
    status = run_forwarding_signals(
        [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"]
    )

    assert status == 128 + signal.SIGKILL
