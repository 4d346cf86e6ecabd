"""Interactive review of proposed edits in the terminal (textual).

The decisions live in an immutable :class:`Review`; the app keeps a history of them for undo.
Edits the editor does not accept are left out: nothing changes without a yes.

>>> from repair.edits import Edit, Result
>>> r = Review.start(Result("a b c", (Edit(2, 3, "b", "B", "x", 1.0, 0.95),
...                                   Edit(4, 5, "c", "C", "x", 1.0, 0.4)), "sig"))
>>> r.accept_above(0.9).text()
'a B c'
>>> r.replace(1, "see").text()
'a b see'
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Input, Static

from .edits import Edit, Result, apply
from .io import os_error_line
from .render import visible

PENDING, ACCEPTED, REJECTED = "pending", "accepted", "rejected"
CONTEXT = 320  # code points shown either side of the edit under review


@dataclass(frozen=True, slots=True)
class Review:
    """The input, the current form of every edit, and the decision on each."""

    result: Result
    edits: tuple[Edit, ...]
    status: tuple[str, ...]

    @classmethod
    def start(cls, result: Result) -> Review:
        return cls(result, result.edits, (PENDING,) * len(result.edits))

    def decide(self, i: int, status: str) -> Review:
        return replace(self, status=self.status[:i] + (status,) + self.status[i + 1 :])

    def replace(self, i: int, after: str) -> Review:
        """Accept edit ``i`` with the editor's own replacement, as a new Edit record."""
        old = self.edits[i]
        rule = old.rule if old.rule.startswith("editor:") else f"editor:{old.rule}"
        new = replace(old, after=after, rule=rule, gain=0.0, confidence=1.0)
        edits = self.edits[:i] + (new,) + self.edits[i + 1 :]
        return replace(self, edits=edits).decide(i, ACCEPTED)

    def accept_above(self, threshold: float) -> Review:
        """Accept every pending edit whose confidence is at least ``threshold``."""
        status = tuple(
            ACCEPTED if s == PENDING and e.confidence >= threshold else s
            for e, s in zip(self.edits, self.status, strict=True)
        )
        return replace(self, status=status)

    def kept(self) -> tuple[Edit, ...]:
        return tuple(e for e, s in zip(self.edits, self.status, strict=True) if s == ACCEPTED)

    def text(self) -> str:
        return apply(self.result.text, self.kept())

    def count(self, status: str) -> int:
        return self.status.count(status)

    def next_pending(self, after: int) -> int:
        """The next undecided edit after ``after`` (wrapping round), else ``after`` itself."""
        n = len(self.status)
        for k in range(1, n + 1):
            j = (after + k) % n
            if self.status[j] == PENDING:
                return j
        return after


def terminal_size(stream: object) -> tuple[int, int] | None:
    """The size of the terminal ``stream`` is, or ``None`` when it is none."""
    try:
        size = os.get_terminal_size(stream.fileno())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return None
    return size.columns or 80, size.lines or 25


if sys.platform != "win32":
    from textual.drivers.linux_driver import LinuxDriver

    class _Driver(LinuxDriver):
        """textual's terminal driver, sized by the terminal it draws on (standard error),
        not by standard output, which ``review -o -`` redirects to a file (textual then
        assumed 80x24: the title and status rows were cut off in a smaller terminal, and
        a larger one kept stale fragments)."""

        def _get_terminal_size(self) -> tuple[int, int]:
            return terminal_size(self._file) or super()._get_terminal_size()

    DRIVER: type[LinuxDriver] | None = _Driver
else:  # pragma: no cover - textual picks its Windows driver, sized by the console
    DRIVER = None


class _Pane(VerticalScroll):
    """The context's pane: given a new size (the terminal resized), the context is cut to
    fit it again."""

    def on_resize(self) -> None:
        if isinstance(self.app, ReviewApp):
            self.app.show_context()  # the context alone: a message shown stays


class ReviewApp(App[str]):
    """Step through edits: accept, reject, edit, undo, accept all above a confidence.

    The app exits with the reviewed text (``None`` when abandoned with ctrl+q). With
    ``write``, the text is handed to it before the app exits.
    """

    TITLE = "unspin review"
    CSS = """
    #progress { height: auto; padding: 0 1; background: $boost; }
    #context { padding: 1 2; }
    #why { height: auto; padding: 0 2; color: $text-muted; }
    #message { height: auto; padding: 0 2; color: $warning; }
    #replacement { margin: 0 2; }
    .hidden { display: none; }
    """
    # The way out first: an 80-column footer cuts off the last keys.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "write", "write & quit"),
        Binding("a", "accept", "accept"),
        Binding("r", "reject", "reject"),
        Binding("e", "edit", "edit"),
        Binding("u", "undo", "undo"),
        Binding("A", "accept_above", "all above"),
        Binding("n,right,j", "move(1)", "next"),
        Binding("p,left,k", "move(-1)", "prev"),
        Binding("w", "write", "write & quit", show=False),
        Binding("escape", "cancel_edit", "cancel", show=False),
    ]

    def __init__(
        self,
        result: Result,
        name: str = "-",
        *,
        accept_above: float = 0.9,
        write: Callable[[str], None] | None = None,
        batch: bool = False,
    ) -> None:
        super().__init__(driver_class=DRIVER)
        # In a batch of files, s leaves this one unwritten and goes on to the next.
        self.skipped = False
        if batch:
            self.bind("s", "skip", description="skip file")
        self.review = Review.start(result)
        self.current = 0
        self.history: list[tuple[Review, int]] = []
        self.threshold = accept_above
        self.write = write
        self.sub_title = visible(name, breaks=False)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="progress")
        with _Pane():
            yield Static(id="context")
        yield Static(id="why")
        yield Static(id="message")
        yield Input(id="replacement", classes="hidden", placeholder="replacement; Enter to accept")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_view()

    # --- state changes, each one undoable ----------------------------------------------

    def _push(self, review: Review, current: int) -> None:
        self.history.append((self.review, self.current))
        self.review, self.current = review, current
        self.refresh_view()

    def _decide(self, status: str) -> None:
        if not self.review.edits:
            return
        r = self.review.decide(self.current, status)
        self._push(r, r.next_pending(self.current))

    def action_accept(self) -> None:
        self._decide(ACCEPTED)

    def action_reject(self) -> None:
        self._decide(REJECTED)

    def action_accept_above(self) -> None:
        r = self.review.accept_above(self.threshold)
        n = r.count(ACCEPTED) - self.review.count(ACCEPTED)
        self._push(r, r.next_pending(self.current) if r.count(PENDING) else self.current)
        self.say(f"accepted {n} edit(s) with confidence >= {self.threshold:.2f}")

    def action_undo(self) -> None:
        if not self.history:
            self.say("nothing to undo")
            return
        self.review, self.current = self.history.pop()
        self.refresh_view()

    def action_move(self, step: int) -> None:
        if self.review.edits:
            self.current = (self.current + step) % len(self.review.edits)
            self.refresh_view()

    def action_edit(self) -> None:
        if not self.review.edits:
            return
        box = self.query_one("#replacement", Input)
        box.value = self.review.edits[self.current].after
        box.remove_class("hidden")
        box.focus()

    def action_cancel_edit(self) -> None:
        box = self.query_one("#replacement", Input)
        box.add_class("hidden")
        self.set_focus(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.input.add_class("hidden")
        self.set_focus(None)
        edited = self.current
        r = self.review.replace(edited, event.value)
        self._push(r, r.next_pending(edited))
        if not event.value:  # after the view's refresh, which clears the message line
            self.say(f"edit {edited + 1}: the replacement is empty, so the words are deleted "
                     "(u undoes it)")

    def action_skip(self) -> None:
        self.skipped = True
        self.exit(None)

    def action_write(self) -> None:
        text = self.review.text()
        if self.write is not None:
            try:
                self.write(text)
            except (OSError, ValueError) as e:  # repair.io.InputError is a ValueError
                # Stay open: the decisions are not lost, and the editor can make the folder
                # writable and press q again, or leave with ctrl+q. A raised error would end
                # the app with a full-screen traceback (and the article in its locals).
                self.bell()
                self.say(f"not written: {_problem(e)}; press q to try again, ctrl+q to quit")
                return
        self.exit(text)

    # --- view --------------------------------------------------------------------------

    def say(self, message: str) -> None:
        # A Text: a str would be read as markup, and messages quote file names and edits.
        self.query_one("#message", Static).update(Text(message))

    def _room(self) -> int:
        """Code points either side of the edit that the context pane shows whole: at most
        :data:`CONTEXT`, fewer in a small terminal, where the edit would fall below the
        pane's bottom (lines wrap short of the width, hence the margin)."""
        size = self.query_one(_Pane).size
        if not size.width or not size.height:  # not laid out yet
            return CONTEXT
        # Less the padding, and a line for what wrapping at spaces leaves short.
        fits = max(size.width - 4, 10) * max(size.height - 3, 1)
        return max(20, min(CONTEXT, fits * 2 // 5))

    def show_context(self) -> None:
        if self.review.edits:
            self.query_one("#context", Static).update(
                context(self.review, self.current, self._room()))

    def refresh_view(self) -> None:
        r = self.review
        self.say("")
        n = len(r.edits)
        if not n:
            self.query_one("#progress", Static).update("no edits proposed; q writes the text")
            text = r.result.text
            self.query_one("#context", Static).update(
                Text(visible(text[: 2 * CONTEXT], text[2 * CONTEXT : 2 * CONTEXT + 1]))
            )
            return
        e, status = r.edits[self.current], r.status[self.current]
        self.query_one("#progress", Static).update(
            f"edit {self.current + 1} of {n}: {status.upper()}   ·   accepted "
            f"{r.count(ACCEPTED)}  rejected {r.count(REJECTED)}  pending {r.count(PENDING)}"
            f"   ·   A accepts pending >= {self.threshold:.2f}"
        )
        self.show_context()
        self.query_one("#why", Static).update(
            Text(
                f"'{visible(e.before, breaks=False)}' -> '{visible(e.after, breaks=False)}'   "
                f"rule {visible(e.rule, breaks=False)}   LM gain {e.gain:+.2f}   "
                f"confidence {e.confidence:.2f}"
            )
        )
        if r.count(PENDING) == 0:
            self.say("every edit is decided: q writes the result, u undoes")


def _problem(e: Exception) -> str:
    """One line for a failed write: ``path: reason`` for an OSError, else its message."""
    if isinstance(e, OSError) and e.strerror:
        msg = os_error_line(e)
    else:
        msg = str(e) or type(e).__name__
    return visible(msg, breaks=False)


def context(review: Review, i: int, room: int = CONTEXT) -> Text:
    """The text around edit ``i``, ``room`` code points either side at most, other edits
    shown as currently decided.

    Control characters show as stand-ins (:func:`repair.render.visible`), never reach the
    terminal: an escape sequence in the article could otherwise hide the edit under review.
    """
    text = review.result.text

    def shown(a: int, b: int) -> str:
        return visible(text[a:b], text[b : b + 1])

    cur = review.edits[i]
    lo = max(0, cur.start - room)
    hi = min(len(text), cur.end + room)
    lo = text.rfind("\n", 0, cur.start) + 1 if "\n" in text[lo : cur.start] else lo
    nl = text.find("\n", cur.end, hi)
    hi = nl if nl >= 0 else hi
    t = Text("…" if lo > 0 and text[lo - 1] != "\n" else "")
    pos = lo
    for j, (e, s) in enumerate(zip(review.edits, review.status, strict=True)):
        if e.end <= lo or e.start >= hi or e.start < pos:
            continue
        t.append(shown(pos, e.start))
        after = visible(e.after, text[e.end : e.end + 1])
        if j == i:
            t.append(shown(e.start, e.end), style="strike red on grey15")
            t.append(after, style="bold green on grey15")
        elif s == ACCEPTED:
            t.append(after, style="green")
        elif s == REJECTED:
            t.append(shown(e.start, e.end))
        else:
            t.append(shown(e.start, e.end), style="underline")
        pos = e.end
    t.append(shown(pos, hi))
    if hi < len(text) and text[hi] != "\n":
        t.append("…")
    return t
