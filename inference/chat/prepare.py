"""Preparing a chat (sync, in a worker thread): map the end user and thread, store the
user's message at once (nothing is lost if generation fails), and build the prompt.

``inference.chat.run`` then streams the reply and records it.
"""

import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import numpy as np
from django.conf import settings
from django.db import close_old_connections

from billing.models import Surface
from inference.backends.base import DEFAULT_TEMPERATURE, DEFAULT_TOP_P
from memory.context import ContextResult, context_build, history_snapshot
from memory.embeddings import embed_texts
from memory.models import Message, Role
from memory.services import message_create, message_embedding_text
from memory.tokens import PromptTokenCounter
from tenants.models import EndUser, Thread, Vendor
from tenants.services import end_user_get_or_create, thread_create, thread_get_or_create


@dataclass(frozen=True)
class ChatRequest:
    vendor: Vendor
    end_user_external_id: str
    content: str
    surface: Surface
    max_tokens: int
    thread_external_id: str | None = None
    api_key_id: UUID | None = None
    system_prompt: str | None = None
    temperature: float = DEFAULT_TEMPERATURE
    top_p: float = DEFAULT_TOP_P
    stop: tuple[str, ...] = ()
    seed: int | None = None


@dataclass
class PreparedChat:
    request: ChatRequest
    end_user: EndUser
    thread: Thread
    user_message: Message
    context: ContextResult
    started: float  # time.perf_counter() when the request arrived
    retrieval_ms: float
    counter: PromptTokenCounter  # how the model counts tokens: the prompt's, the reply's

    def memory_items(self) -> list[dict[str, Any]]:
        """The facts, summaries and past messages in the prompt (this thread's turns aside)."""
        included = self.context.included
        return [
            {"type": kind, "id": item_id}
            for kind, tier in (("fact", "facts"), ("summary", "summaries"), ("message", "messages"))
            for item_id in included[tier]
        ]


def chat_prepare(
    *,
    request: ChatRequest,
    model: str,
    counter: PromptTokenCounter,
    started: float | None = None,
) -> PreparedChat:
    """Store the user's message and build the prompt for it (database work; sync).

    ``model`` and ``counter`` size the prompt: the model's context window, and its tokens.

    The two run side by side, and beside the embedding: a context thread takes a snapshot of
    the history while this thread embeds the message, then builds the prompt from it while
    this thread stores the message. The snapshot is taken before the message is stored, so
    the prompt never sees it (it adds the new message itself). Both use the one embedding.

    The connection pool is shared by every thread of the process, so no thread ever holds a
    pooled connection while it waits on another that may need one: this one gives its
    connection back before it waits for the snapshot and before it waits for the context;
    the context thread waits only for the embedding, which needs none. However many chats run
    at once, each can finish; when connections run short, a chat waits for one (up to
    DATABASE_POOL_TIMEOUT, then 503 ``overloaded``) instead of holding one idle. So it must be
    called outside any transaction: it gives its connection back midway.
    """
    started = started if started is not None else time.perf_counter()
    end_user, _ = end_user_get_or_create(
        vendor=request.vendor, external_id=request.end_user_external_id
    )
    if request.thread_external_id:
        thread, thread_is_new = thread_get_or_create(
            end_user=end_user, external_id=request.thread_external_id
        )
    else:  # a new thread with an id of our making: nothing to look up first
        thread = thread_create(end_user=end_user, external_id=uuid.uuid4().hex)
        thread_is_new = True
    close_old_connections()  # the context thread may need it for its snapshot
    snapshot_taken = threading.Event()
    vector_ready: Future[np.ndarray] = Future()
    context = _context_threads.submit(
        _context_from_snapshot,
        snapshot_taken,
        vector_ready,
        end_user=end_user,
        thread=thread,
        new_message=request.content,
        system_prompt=request.system_prompt,
        model=model,
        max_completion_tokens=request.max_tokens,
        thread_is_new=thread_is_new,
        counter=counter,
    )
    try:
        vector = embed_texts([message_embedding_text(name="", content=request.content)])[0]
    except BaseException as exc:
        vector_ready.set_exception(exc)
        raise
    vector_ready.set_result(vector)
    snapshot_taken.wait()
    try:
        user_message = message_create(
            thread=thread, role=Role.USER, content=request.content, embedding=vector
        )
    finally:
        close_old_connections()  # before waiting on the context thread
    return PreparedChat(
        request=request,
        end_user=end_user,
        thread=thread,
        user_message=user_message,
        context=context.result(),
        started=started,
        retrieval_ms=(time.perf_counter() - started) * 1000,
        counter=counter,
    )


def _context_threads_count() -> int:
    """Context threads for the chats of one process: half the pool, so that chats storing
    their messages always find connections too (a chat's two threads hold one each), and
    at most 16 (past that they only queue on the two cores a process gets). Without a pool
    (each thread opens its own connection) 8."""
    pool: int = settings.DATABASE_POOL_MAX_SIZE
    return max(1, min(16, pool // 2)) if pool else 8


# Each chat's context is built in one of these, beside the storing of its message.
_context_threads = ThreadPoolExecutor(
    max_workers=_context_threads_count(), thread_name_prefix="infyn-context"
)


def _context_from_snapshot(
    snapshot_taken: threading.Event, vector_ready: "Future[np.ndarray]", **build: Any
) -> ContextResult:
    close_old_connections()
    try:
        with history_snapshot(build["end_user"]) as totals:
            snapshot_taken.set()
            # Waits for the embedding only, which needs no connection: no cycle.
            return context_build(**build, query_vector=vector_ready.result(), totals=totals)
    finally:
        snapshot_taken.set()  # never leave the chat waiting, even on an error
        close_old_connections()  # back to the pool at once, not when the thread is next used
