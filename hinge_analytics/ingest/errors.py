"""The one exception readers and validators raise for bad input: its message is for a coach."""


class BadRecording(ValueError):
    """A recording (or manifest row) that cannot be used; ``str(exc)`` is the quarantine reason.

    Reasons are whole sentences in plain words that say what is wrong and, where possible, what
    to do about it, e.g. "The timestamps go backwards at frame 212; re-export the recording."
    """


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message (library errors can span screens), or its type."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__
