"""The widget clients of bench/ws_concurrency.py: what they say, and their websocket turns.

A Conversation is one connection as its own end user; run_conversations connects them all,
waits until each is ready (or failed) and then lets every one send at once. Imported by the
script after django.setup().
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Origin

from tenants.models import ApiKey
from tenants.widget_tokens import widget_token_mint

# End users' external ids start with these, so the report can leave the warm-up chats out.
WARMUP_PREFIX = "bench-warmup"
USER_PREFIX = "bench-user"

# Messages vary per end user and turn, and read like what people tell a chat assistant (so
# the rule-based extractor finds facts in some, as it would in production).
OPENINGS = [
    "I've been thinking about {} all week; what would you suggest?",
    "Can you help me plan {} before the end of the month?",
    "My partner and I keep arguing about {}. Any advice?",
    "Quick question about {}: where should I even start?",
    "I live in Lisbon now and I'm trying to sort out {}.",
    "Remind me what we said about {} last time?",
    "I just started a new job as a nurse, and {} is stressing me out.",
    "What are three things I should know about {}?",
]
SUBJECTS = [
    "my sister's wedding in June",
    "the sourdough starter I keep killing",
    "a week of hiking in the Dolomites",
    "learning Portuguese on a budget",
    "my dog Biscuit's separation anxiety",
    "switching from Python to Rust at work",
    "a birthday dinner for twelve people",
    "paying off my student loans faster",
    "getting back into running after a knee injury",
    "a vegetable garden on a small balcony",
    "my daughter's first year at university",
    "moving my parents into a smaller flat",
]
REPLY_SOURCE = (
    "That sounds like a lot to juggle, so let's take it one step at a time. First, write "
    "down what matters most to you and what can wait. Then pick one small thing you can do "
    "today, because momentum helps more than a perfect plan. If it would help, tell me a "
    "little more about your week and I can suggest a simple schedule that leaves room for "
    "rest, for the people you care about, and for the surprises that always turn up."
)


def message_text(user: int, turn: int) -> str:
    opening = OPENINGS[(user + turn) % len(OPENINGS)]
    return opening.format(SUBJECTS[(user * 5 + turn * 7) % len(SUBJECTS)])


def reply_text(words: int) -> str:
    pool = REPLY_SOURCE.split()
    return " ".join(pool[index % len(pool)] for index in range(words))


# --- one connection -------------------------------------------------------------------------


@dataclass
class Turn:
    sent: float
    first_token: float | None = None
    last_token: float | None = None
    done: float | None = None
    frames: int = 0
    text: str = ""
    completion_tokens: int = 0
    error: str | None = None


@dataclass
class Conversation:
    user: int
    token: str
    connected_s: float | None = None
    turns: list[Turn] = field(default_factory=list)
    error: str | None = None


async def receive(ws: ClientConnection) -> dict[str, Any]:
    frame = json.loads(await ws.recv())
    assert isinstance(frame, dict)
    return frame


async def one_turn(ws: ClientConnection, content: str) -> Turn:
    turn = Turn(sent=time.perf_counter())
    await ws.send(json.dumps({"type": "message", "content": content}))
    pieces: list[str] = []
    while True:
        frame = await receive(ws)
        now = time.perf_counter()
        kind = frame.get("type")
        if kind == "token":
            turn.first_token = turn.first_token or now
            turn.last_token = now
            turn.frames += 1
            pieces.append(frame["text"])
        elif kind == "done":
            turn.done = now
            turn.completion_tokens = int(frame["usage"]["completion_tokens"])
            break
        elif kind == "error":
            turn.error = f"error frame: {frame.get('code')}: {frame.get('message')}"
            break
    turn.text = "".join(pieces)
    return turn


async def converse(
    conversation: Conversation,
    *,
    url: str,
    origin: str,
    turns: int,
    timeout: float,
    connected: asyncio.Queue[None],
    go: asyncio.Event,
    progress: tqdm | None,
) -> None:
    """Connect, report ready, wait for ``go``, then chat ``turns`` times, one after another."""
    started = time.perf_counter()
    ready_told = False
    try:
        async with connect(
            f"{url}?token={conversation.token}",
            origin=Origin(origin),  # a page served by infyn itself: same origin
            open_timeout=timeout,
            ping_interval=None,  # browsers do not ping; keep the measure free of it
            max_size=2**22,
        ) as ws:
            ready = await asyncio.wait_for(receive(ws), timeout)
            if ready.get("type") != "ready":
                raise RuntimeError(f"expected a ready frame, got {ready}")
            conversation.connected_s = time.perf_counter() - started
            connected.put_nowait(None)
            ready_told = True
            await go.wait()
            for index in range(turns):
                content = message_text(conversation.user, index)
                try:
                    turn = await asyncio.wait_for(one_turn(ws, content), timeout)
                except TimeoutError:
                    turn = Turn(sent=time.perf_counter(), error=f"no done within {timeout:g} s")
                conversation.turns.append(turn)
                if progress is not None:
                    progress.update()
                if turn.error:
                    break
    except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError, RuntimeError) as exc:
        conversation.error = f"{type(exc).__name__}: {exc}"
        if not ready_told:  # never leave the start waiting for this one
            connected.put_nowait(None)


async def run_conversations(
    conversations: Sequence[Conversation],
    *,
    base_url: str,
    turns: int,
    timeout: float,
    show_progress: bool = False,
) -> tuple[float, float]:
    """All connect at once; once every one is ready (or failed), all send at once.

    Returns the moment everyone was told to go and the moment the last turn ended.
    """
    url = base_url.replace("http://", "ws://", 1) + "/ws/chat/"
    connected: asyncio.Queue[None] = asyncio.Queue()
    go = asyncio.Event()
    progress = (
        tqdm(total=len(conversations) * turns, desc="chats", unit="chat", file=sys.stderr)
        if show_progress
        else None
    )
    tasks = [
        asyncio.create_task(
            converse(
                conversation,
                url=url,
                origin=base_url,
                turns=turns,
                timeout=timeout,
                connected=connected,
                go=go,
                progress=progress,
            )
        )
        for conversation in conversations
    ]
    for _ in conversations:
        await connected.get()
    go_at = time.perf_counter()
    go.set()
    await asyncio.gather(*tasks)
    ended = time.perf_counter()
    if progress is not None:
        progress.close()
    return go_at, ended


# --- their widget tokens --------------------------------------------------------------------


def mint_conversations(api_key: ApiKey, users: Sequence[int], prefix: str) -> list[Conversation]:
    return [
        Conversation(
            user=user,
            token=widget_token_mint(api_key=api_key, end_user_external_id=f"{prefix}-{user}")[0],
        )
        for user in users
    ]
