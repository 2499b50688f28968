"""Prompt size against conversation length: a 1,000-turn conversation through the chat flow.

    INFYN_DATA_DIR=var/bench-chat python bench/prompt_growth.py \\
        --data ../shared/data/locomo10.json --turns 1000 \\
        --json bench/results/prompt_growth.json --plot docs/prompt-growth.png

Each turn is one real chat request through ``chat_prepare`` and ``ChatRun`` (the code
behind every surface): the user's message is stored and embedded, the context is built
within the budget, the `openai` backend streams the reply from a fake OpenAI-compatible
server on a loopback port, and the reply is stored; background extraction and summaries
run as they do in the embedded mode (in process, after commit). The conversation is real:
LoCoMo's turns, one speaker as the user and the other as the scripted assistant,
conversations concatenated until the turn count is reached.

Recorded per turn: the prompt tokens the backend was sent (our count, with the configured
tokenizer) and the full-history baseline (what sending every stored message would cost).
"""

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("INFYN_DATA_DIR", str(BASE_DIR / "var" / "bench-chat"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "infyn.settings")

import django  # noqa: E402

django.setup()

from asgiref.sync import async_to_sync  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import override_settings  # noqa: E402
from tqdm import tqdm  # noqa: E402

from billing.models import Surface  # noqa: E402
from inference.backends import chat_backend, chat_token_counter, reset_chat_backend  # noqa: E402
from inference.chat.prepare import ChatRequest, chat_prepare  # noqa: E402
from inference.chat.run import ChatRun  # noqa: E402
from memory.benchmark import load_samples  # noqa: E402
from tenants.services import vendor_create  # noqa: E402
from tests.fakes.openai_server import fake_openai_server  # noqa: E402

CHECKPOINTS = (10, 100, 250, 500, 1000)


def conversation_pairs(path: Path, turns: int) -> list[tuple[str, str]]:
    """(user message, assistant reply) pairs from LoCoMo, conversations concatenated."""
    pairs: list[tuple[str, str]] = []
    for sample in load_samples(json.loads(path.read_text()), exclude_categories=set()):
        messages = sample.messages
        for first, second in zip(messages[::2], messages[1::2], strict=False):
            pairs.append((first.content, second.content))
            if len(pairs) == turns:
                return pairs
    raise SystemExit(f"{path} has only {len(pairs)} turn pairs; asked for {turns}.")


async def one_turn(run: ChatRun) -> None:
    await run.start()
    await run.text()
    # The reply and its usage record are stored by a task of their own: wait for it, or the
    # event loop of async_to_sync ends (cancelling it) before the turn is in the history.
    await run.finished()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    pairs = conversation_pairs(args.data, args.turns)
    vendor, api_key, _raw = vendor_create(
        name=f"bench prompt {uuid.uuid4().hex[:6]}", actor="bench"
    )
    rows: list[dict[str, Any]] = []
    thread_id = None
    started = time.perf_counter()
    try:
        with fake_openai_server() as fake:
            fake.replies = [reply for _question, reply in pairs]
            with override_settings(
                LLM_BACKEND="openai", LLM_BASE_URL=fake.base_url, LLM_MODEL="fake-model"
            ):
                reset_chat_backend()
                backend, counter = chat_backend(), chat_token_counter()
                for turn, (question, _reply) in enumerate(tqdm(pairs, desc="turns"), start=1):
                    request = ChatRequest(
                        vendor=vendor,
                        api_key_id=api_key.pk,
                        end_user_external_id="long-talker",
                        thread_external_id=thread_id,
                        content=question,
                        surface=Surface.CHAT,
                        max_tokens=256,
                    )
                    prepared = chat_prepare(request=request, model=backend.model, counter=counter)
                    thread_id = prepared.thread.external_id
                    run = ChatRun(prepared=prepared, backend=backend)
                    async_to_sync(one_turn)(run)
                    if run.outcome is None or run.outcome.status != "ok":
                        raise SystemExit(f"turn {turn} failed: {run.outcome}")
                    rows.append(
                        {
                            "turn": turn,
                            "prompt_tokens": prepared.context.token_count,
                            "baseline_tokens": prepared.context.baseline_tokens,
                            "memory_items": len(prepared.context.memories),
                            "retrieval_ms": round(prepared.retrieval_ms, 1),
                        }
                    )
            reset_chat_backend()
    finally:
        vendor.delete()
    elapsed = time.perf_counter() - started

    table = [row for row in rows if row["turn"] in CHECKPOINTS or row["turn"] == len(rows)]
    print(f"\n{'turn':>6} {'prompt tokens':>14} {'full history':>13} {'ratio':>7}")
    for row in table:
        ratio = row["baseline_tokens"] / max(1, row["prompt_tokens"])
        print(
            f"{row['turn']:>6} {row['prompt_tokens']:>14} {row['baseline_tokens']:>13} "
            f"{ratio:>6.1f}x"
        )
    prompts = [row["prompt_tokens"] for row in rows]
    summary = {
        "turns": len(rows),
        "budget": int(django.conf.settings.MEMORY_CONTEXT_BUDGET),
        "token_counter": counter.name,
        "checkpoints": table,
        "prompt_tokens_max": max(prompts),
        "prompt_tokens_mean_after_100": round(sum(prompts[99:]) / max(1, len(prompts[99:])), 1),
        "seconds": round(elapsed, 1),
        "per_turn": rows,
    }
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    if args.plot:
        plot(rows, args.plot, summary["budget"])


def plot(rows: list[dict[str, Any]], path: Path, budget: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    turns = [row["turn"] for row in rows]
    figure, axis = plt.subplots(figsize=(8, 4.5), dpi=120)
    axis.plot(turns, [r["baseline_tokens"] for r in rows], label="full history (baseline)")
    axis.plot(turns, [r["prompt_tokens"] for r in rows], label="infyn prompt")
    axis.axhline(budget, color="grey", linestyle="--", linewidth=1, label=f"budget ({budget})")
    axis.set_xlabel("turn")
    axis.set_ylabel("prompt tokens")
    axis.set_yscale("log")
    axis.set_title("Prompt size over a 1,000-turn conversation")
    axis.legend()
    axis.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)


if __name__ == "__main__":
    main()
