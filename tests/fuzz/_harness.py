"""The time budget, Hypothesis settings and the checks every fuzz target shares."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.strategies import SearchStrategy

#: Seconds each fuzz target runs (``nox -s fuzz -- --seconds N`` sets it).
SECONDS_VARIABLE = "TLS_ADAPTER_FUZZ_SECONDS"
#: Where Hypothesis keeps its example database (failures are replayed first).
DATABASE_VARIABLE = "TLS_ADAPTER_FUZZ_DB"
DEFAULT_SECONDS = 15.0

_HOME = os.environ.get(DATABASE_VARIABLE) or os.path.join(
    tempfile.gettempdir(), "tls_adapter-fuzz-hypothesis"
)
# Hypothesis would otherwise make a .hypothesis/ directory in the working tree.
set_hypothesis_home_dir(_HOME)

_SETTINGS = settings(
    deadline=None,
    database=DirectoryBasedExampleDatabase(os.path.join(_HOME, "examples")),
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)


#: Every fuzz module sets ``pytestmark = MARKS``: a failure on a large input makes
#: Hypothesis warn about the size of its report, which pytest's ``error`` filter would
#: turn into a second, confusing failure.
MARKS = [pytest.mark.filterwarnings("ignore:Generating overly large repr")]


def any_text(max_size: int) -> st.SearchStrategy[str]:
    """Text including lone surrogates (which ``st.text()`` leaves out)."""
    surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, categories=["Cs"])
    return st.text(st.one_of(st.characters(), surrogates), max_size=max_size)


def budget() -> float:
    """The seconds each target runs for."""
    value = os.environ.get(SECONDS_VARIABLE, "")
    try:
        seconds = float(value) if value else DEFAULT_SECONDS
    except ValueError:
        raise ValueError(
            f"${SECONDS_VARIABLE} must be a number of seconds, not {value!r}"
        ) from None
    return max(seconds, 0.0)


def fuzz(test: Callable[..., None], *strategies: SearchStrategy[Any]) -> None:
    """Run ``given(*strategies)(test)`` in rounds until the time budget is spent.

    Hypothesis stops after ``max_examples``, not after a time; each round is sized to
    take about two seconds, and the first failure (shrunk, with a reproduction blob)
    ends the run.
    """
    deadline = time.monotonic() + budget()
    examples = 20
    while True:
        started = time.monotonic()
        run = settings(_SETTINGS, max_examples=examples)(given(*strategies)(test))
        run()
        left = deadline - time.monotonic()
        if left <= 0:
            return
        rate = examples / max(time.monotonic() - started, 1e-3)
        examples = int(max(10, min(rate * min(2.0, left), 10_000)))


def time_limit(size: int) -> float:
    """Seconds one call may take for *size* bytes of input: linear, and generous.

    A quadratic parser takes minutes on the megabyte inputs the targets build, so the
    margin for a slow, shared CI machine does not hide one.
    """
    return 2.0 + size * 5e-6


def check_error(error: BaseException, allowed: tuple[type[BaseException], ...]) -> None:
    """*error* is one of the documented exception types exactly (not a subclass such as
    ``UnicodeDecodeError``), and says something."""
    assert type(error) in allowed, f"{type(error).__name__} escaped: {error!r}"
    assert str(error).strip(), f"{type(error).__name__} without a message"


def exception_texts(error: BaseException) -> str:
    """``str`` and ``repr`` of *error* and every exception chained to it."""
    texts = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts += [str(current), repr(current), repr(current.args)]
        current = current.__cause__ or current.__context__
    return "\n".join(texts)


def leaked(text: str, secrets: Iterable[bytes | str], size: int = 16) -> str | None:
    """A *size*-character piece of one of *secrets* that appears in *text*, if any.

    Secrets shorter than *size* are not looked for (short strings match by chance).
    """
    for secret in secrets:
        value = secret.decode("latin-1") if isinstance(secret, bytes) else secret
        for start in range(0, len(value) - size + 1, max(1, size // 2)):
            piece = value[start : start + size]
            if piece in text:
                return piece
    return None
