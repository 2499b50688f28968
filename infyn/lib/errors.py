"""The base of the errors services raise for their callers to act on.

A ``DomainError`` carries what every surface answers with: a stable ``code``, a ``message``
safe to show to API clients, and the HTTP ``status_code`` it means. The API's one exception
handler (``infyn.lib.api.errors``) turns it into the error shape; a management command
turns it into a ``CommandError``; the chat surfaces into an error event or frame. Services
raise subclasses named for what went wrong, never a bare ``ValueError``.
"""


class DomainError(Exception):
    status_code = 400
    code = "invalid_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
