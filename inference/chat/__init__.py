"""The chat flow behind every surface (REST, SSE, websocket).

1. ``chat_prepare`` (``prepare``; sync, in a worker thread): map the end user and thread,
   store the user's message, build the context.
2. ``ChatRun.start`` / ``ChatRun.deltas`` (``run``; async, on the event loop): stream the
   reply from the backend, then record it, however the stream ended.
"""
