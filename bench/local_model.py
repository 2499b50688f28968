"""The local chat model on this machine: load time, time to first token, decode speed.

    python bench/local_model.py --data ../shared/data/locomo10.json [--prompts 10]
                                [--max-tokens 128] [--skip-cold]
                                [--json bench/results/local_model.json]

Everything goes through ``LocalBackend.stream``, as chat does. Prompts are shaped like the
context builder's: the system prompt, a memory block of dated LoCoMo turns, the last four
turns of the conversation and a LoCoMo question, sized from 300 to 1,200 prompt tokens.
Decoding is greedy (temperature 0); one request runs at a time.

Load times: "cold" converts the packaged GGUF file into a temporary folder (what the first
start on a machine pays); the others load the converted copy under $INFYN_DATA_DIR/models/
(every later start). Import time (torch, transformers) is reported on its own.

Decoding on 2 cores is bound by memory bandwidth and suffers from any other load, so the
result records the 1-minute load average and the CPU time the process got per second of the
measured streams (about INFYN_LOCAL_MODEL_THREADS when nothing else competes for the cores).
Set INFYN_LOCAL_MODEL_THREADS to compare thread counts.
"""

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "infyn.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402

from inference.backends.base import GenerationRequest, TextDelta, UpstreamUsage  # noqa: E402
from inference.backends.local import (  # noqa: E402
    GGUF_FILE,
    LocalBackend,
    converted_dir,
    load_model,
    load_tokenizer,
)
from memory.benchmark import Sample, load_samples  # noqa: E402
from memory.tokens import TokenCounter  # noqa: E402

MEMORY_HEADER = "What you remember about this user (use it when relevant):"
RECENT_TURNS = 4
MESSAGE_OVERHEAD_TOKENS = 4


def percentile(values: list[float], percent: float) -> float:
    """Nearest rank, as the other benchmarks report it."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(percent / 100 * (len(ordered) - 1))))]


def build_prompt(
    sample: Sample, target_tokens: int, count: TokenCounter, rng: random.Random
) -> list[dict[str, str]]:
    """A prompt of about ``target_tokens``, laid out as ``memory.context.context_build`` does."""
    turns = sample.messages
    recent = turns[-RECENT_TURNS:]
    question = rng.choice(sample.questions).text
    messages = [{"role": "system", "content": settings.MEMORY_SYSTEM_PROMPT}]
    tail = [{"role": turn.role, "content": turn.content} for turn in recent]
    tail.append({"role": "user", "content": question})
    spent = sum(count(m["content"]) + MESSAGE_OVERHEAD_TOKENS for m in [*messages, *tail])
    spent += count(MEMORY_HEADER) + MESSAGE_OVERHEAD_TOKENS
    lines = [MEMORY_HEADER]
    start = rng.randrange(max(1, len(turns) - RECENT_TURNS - 200))
    for turn in turns[start : len(turns) - RECENT_TURNS]:
        when = turn.created_at.strftime("%d %b %Y") if turn.created_at else ""
        line = f"- ({when}) {turn.name}: {turn.content}"
        cost = count(line) + 1
        if spent + cost > target_tokens:
            continue  # a shorter turn further on may still fit
        lines.append(line)
        spent += cost
    messages.append({"role": "system", "content": "\n".join(lines)})
    return messages + tail


async def timed_stream(backend: LocalBackend, request: GenerationRequest) -> dict[str, Any]:
    submitted = time.perf_counter()
    first = 0.0
    usage: UpstreamUsage | None = None
    async for event in backend.stream(request):
        if isinstance(event, TextDelta):
            first = first or time.perf_counter()
        else:
            usage = event
    ended = time.perf_counter()
    assert usage is not None
    assert first
    after_first = ended - first
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "ttft_ms": round((first - submitted) * 1000, 1),
        "decode_s": round(after_first, 3),
        # The first token is the one time-to-first-token waited for.
        "decode_tokens_per_s": round((usage.completion_tokens - 1) / after_first, 2)
        if after_first > 0
        else 0.0,
        "total_s": round(ended - submitted, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--prompts", type=int, default=10)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--min-prompt-tokens", type=int, default=300)
    parser.add_argument("--max-prompt-tokens", type=int, default=1200)
    parser.add_argument("--skip-cold", action="store_true", help="skip the GGUF conversion")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    load: dict[str, float] = {}
    started = time.perf_counter()
    import torch
    import transformers

    load["import_s"] = round(time.perf_counter() - started, 2)
    if not args.skip_cold:
        with tempfile.TemporaryDirectory() as cold:
            started = time.perf_counter()
            load_tokenizer(Path(cold))
            load["cold_tokenizer_s"] = round(time.perf_counter() - started, 2)
            started = time.perf_counter()
            load_model(Path(cold))
            load["cold_model_s"] = round(time.perf_counter() - started, 2)
    converted_existed = (converted_dir() / "model").is_dir()
    backend = LocalBackend()
    started = time.perf_counter()
    counter = backend.token_counter()
    load["tokenizer_s"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    backend.load()
    load["model_s"] = round(time.perf_counter() - started, 2)
    assert counter is not None
    count = counter[0]

    rng = random.Random(args.seed)
    samples = load_samples(json.loads(args.data.read_text()), exclude_categories={5})
    span = args.max_prompt_tokens - args.min_prompt_tokens
    targets = [
        args.min_prompt_tokens + round(span * index / max(1, args.prompts - 1))
        for index in range(args.prompts)
    ]
    prompts = [
        build_prompt(samples[index % len(samples)], target, count, rng)
        for index, target in enumerate(targets)
    ]

    async def run() -> list[dict[str, Any]]:
        warm_up = GenerationRequest(prompts[0], max_tokens=8, temperature=0)
        await timed_stream(backend, warm_up)
        return [
            await timed_stream(
                backend, GenerationRequest(prompt, max_tokens=args.max_tokens, temperature=0)
            )
            for prompt in prompts
        ]

    load_before = os.getloadavg()[0]
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    rows = asyncio.run(run())
    cpu_per_wall = (time.process_time() - cpu_started) / (time.perf_counter() - wall_started)

    print(f"{'prompt':>7} {'reply':>6} {'ttft ms':>9} {'decode tok/s':>13} {'total s':>8}")
    for row in rows:
        print(
            f"{row['prompt_tokens']:>7} {row['completion_tokens']:>6} {row['ttft_ms']:>9.0f} "
            f"{row['decode_tokens_per_s']:>13.1f} {row['total_s']:>8.2f}"
        )
    ttfts = [row["ttft_ms"] for row in rows]
    rates = [row["decode_tokens_per_s"] for row in rows]
    decoded = sum(row["completion_tokens"] - 1 for row in rows)
    prompt_tokens = [row["prompt_tokens"] for row in rows]
    result = {
        "model": "SmolLM2-135M-Instruct",
        "gguf_file": GGUF_FILE,
        "dtype": "float32",
        "threads": settings.LOCAL_MODEL_THREADS,
        "cpu_count": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "load_s": load,
        "converted_copy_existed": converted_existed,
        "prompts": len(rows),
        "max_tokens": args.max_tokens,
        "prompt_tokens": {
            "min": min(prompt_tokens),
            "mean": round(sum(prompt_tokens) / len(prompt_tokens), 1),
            "max": max(prompt_tokens),
        },
        "completion_tokens_mean": round(sum(r["completion_tokens"] for r in rows) / len(rows), 1),
        "ttft_ms": {"p50": percentile(ttfts, 50), "p95": percentile(ttfts, 95)},
        "decode_tokens_per_s": {
            "p50": percentile(rates, 50),
            "min": min(rates),
            "overall": round(decoded / sum(row["decode_s"] for row in rows), 2),
        },
        "cpu_seconds_per_second": round(cpu_per_wall, 2),
        "loadavg_1m": {"before": load_before, "after": os.getloadavg()[0]},
        "per_prompt": rows,
    }
    summary = {key: value for key, value in result.items() if key != "per_prompt"}
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
