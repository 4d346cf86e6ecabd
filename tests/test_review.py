"""`unspin review`: a full session driven through textual's pilot, and the file it writes."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.text import Text
from textual.widgets import Static

from repair import Edit, Result, apply
from repair.io import InputError, encode, write_atomic
from repair.render import reviewed_name
from repair.review import ACCEPTED, PENDING, REJECTED, Review, ReviewApp, context

SPUN = (
    "The AK Social gathering said the demise toll had risen .\n"
    "The faculties were closed for a thirty day period , the navy mentioned .\n"
)


def _session(result: Result, out: Path, keys: list[str], threshold: float = 0.9):  # type: ignore[no-untyped-def]
    app = ReviewApp(result, "article.txt", accept_above=threshold,
                    write=lambda text: write_atomic(out, encode(text)))
    seen: dict[str, object] = {}

    async def drive() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            for key in keys:
                if key.startswith("type:"):
                    await pilot.press(*key[5:])
                elif key == "?state":
                    seen.setdefault("states", []).append(  # type: ignore[union-attr]
                        (app.review.status, app.current)
                    )
                elif key.startswith("?#"):  # what a Static shows now, e.g. "?#message"
                    seen[key[2:]] = app.query_one(key[1:], Static).content
                else:
                    await pilot.press(key)
                await pilot.pause()

    asyncio.run(drive())
    return app, seen


def test_full_review_session(repairer, tmp_path: Path) -> None:
    result = repairer.fix_and_explain(SPUN)
    n = len(result.edits)
    assert n >= 5, result.edits
    before = [e.before for e in result.edits]
    assert before[:4] == ["Social gathering", "demise", "faculties", "thirty day period"]
    out = tmp_path / "article.reviewed.txt"
    # Make the last edit the only one below the accept-all threshold.
    low = tuple(e if i < n - 1 else Edit(e.start, e.end, e.before, e.after, e.rule, e.gain, 0.3)
                for i, e in enumerate(result.edits))
    result = Result(result.text, low, result.signature)
    app, seen = _session(result, out, [
        "a",                  # accept edit 0 (Social gathering -> Party)
        "r",                  # reject edit 1 (demise)
        "e", "ctrl+u", "type:colleges", "enter",  # edit 2: faculties -> colleges
        "a",                  # accept edit 3 (thirty day period -> month) ...
        "?state",
        "u",                  # ... and undo that
        "?state",
        "u", "u", "?state",   # undo the replacement and the rejection as well
        "r", "e", "ctrl+u", "type:colleges", "enter",  # redo: reject 1, edit 2
        "A",                  # accept the rest above 0.9: edit 3 and others, not the last
        "q",
    ])
    states = seen["states"]
    assert states[0][0][:4] == (ACCEPTED, REJECTED, ACCEPTED, ACCEPTED)
    assert states[1] == ((ACCEPTED, REJECTED, ACCEPTED) + (PENDING,) * (n - 3), 3)
    assert states[2] == ((ACCEPTED,) + (PENDING,) * (n - 1), 1)
    assert app.return_value == out.read_text(encoding="utf-8")

    final = app.review
    assert final.status == (ACCEPTED, REJECTED) + (ACCEPTED,) * (n - 3) + (PENDING,)
    edited = final.edits[2]
    assert (edited.before, edited.after, edited.rule) == (
        "faculties", "colleges", f"editor:{result.edits[2].rule}"
    )
    assert result.edits[2].after == "schools"  # the input Result is untouched
    kept = [result.edits[0], edited, *result.edits[3 : n - 1]]
    assert out.read_text(encoding="utf-8") == apply(result.text, kept)
    assert "colleges were closed for a month" in out.read_text(encoding="utf-8")
    assert "the demise toll" in out.read_text(encoding="utf-8")
    assert result.edits[-1].before in out.read_text(encoding="utf-8")


def test_escape_cancels_an_edit_and_ctrl_q_writes_nothing(repairer, tmp_path: Path) -> None:
    result = repairer.fix_and_explain(SPUN)
    out = tmp_path / "out.txt"
    app, _ = _session(result, out, ["e", "type:zzz", "escape", "a", "ctrl+q"])
    assert app.review.status[0] == ACCEPTED and app.review.edits[0] == result.edits[0]
    assert app.return_value is None and not out.exists()


@pytest.mark.parametrize("size", [(50, 14), (80, 12), (100, 30)])
def test_the_edit_under_review_is_on_screen_in_a_small_terminal(size: tuple[int, int]) -> None:
    """An article on one line, and a terminal of few lines: the context pane showed 320
    code points before the edit, so it fell below the pane's bottom (QA). The context is
    cut to what the pane shows whole, and again when the terminal is resized."""
    words = " ".join(f"word{i}" for i in range(600))
    text = words.replace("word77 ", "the demise toll ", 1) + " .\n"
    edits = []
    for k, w in enumerate(("word5", "word150", "word300", "word450")):
        s = text.index(w + " ")
        edits.append(Edit(s, s + len(w), w, f"fix{k}", "t.tsv:1", 1.0, 0.5))
    app = ReviewApp(Result(text, tuple(edits), "sig"), "article.txt")

    async def drive() -> None:
        from textual.containers import VerticalScroll

        async with app.run_test(size=size) as pilot:
            for _ in range(3):
                await pilot.press("n")
                await pilot.pause()
                pane = app.query_one(VerticalScroll)
                shown = app.query_one("#context", Static)
                assert edits[app.current].before in str(shown.content)
                assert shown.outer_size.height <= pane.size.height, (size, app.current)
            await pilot.resize_terminal(size[0], max(size[1] - 3, 8))
            for _ in range(3):  # the resize, the pane's new size, the context cut to it
                await pilot.pause()
            assert app.query_one("#context", Static).outer_size.height <= \
                app.query_one(VerticalScroll).size.height

    asyncio.run(drive())


def test_no_edits_writes_the_text_unchanged(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    app, _ = _session(Result("clean text\n", (), "sig"), out, ["a", "u", "e", "q"])
    assert out.read_text(encoding="utf-8") == "clean text\n"


def test_context_and_edit_line_show_control_characters(tmp_path: Path) -> None:
    # ESC[8m hides what follows, ESC[2K and a lone \r forge a line; the rule is not markup.
    text = "The toll\x1b[8m rose\x1b[0m 3.six.\x1b[2K\rFAKE \x9b\u202e\r\nnext line\r\n"
    s = text.index("3.six")
    result = Result(text, (Edit(s, s + 5, "3.six", "3.6\x1b[2J", "t[/].tsv:1", 1.0, 1.0),), "s")
    t = context(Review.start(result), 0).plain
    assert "\x1b" not in t and "\r" not in t and "\x9b" not in t and "\u202e" not in t
    assert t == ("The toll\u241b[8m rose\u241b[0m 3.six3.6\u241b[2J.\u241b[2K\u240dFAKE "
                 "\\x9b<U+202E>")
    app, seen = _session(result, tmp_path / "out.txt", ["?#why", "q"])
    why = seen["why"]
    assert isinstance(why, Text) and "'3.6\u241b[2J'   rule t[/].tsv:1" in why.plain
    assert app.return_value == text  # nothing accepted
    named = ReviewApp(Result("clean\x1b[2J\n", (), "s"), "a\x1b]0;x\x07.txt")
    assert named.sub_title == "a\u241b]0;x\u2407.txt"


def _drive(app: ReviewApp, keys: list[str], setup: Callable[[], object] = lambda: None
           ) -> list[tuple[object, tuple[str, ...], bool]]:
    """Press ``keys``; at "?" note the message line, the decisions and whether the app still
    runs; at "!" call ``setup`` (the editor fixing things in another terminal)."""
    seen: list[tuple[object, tuple[str, ...], bool]] = []

    async def drive() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            for key in keys:
                if key == "!":
                    setup()
                elif key == "?":
                    seen.append((app.query_one("#message", Static).content,
                                 app.review.status, app.is_running))
                else:
                    await pilot.press(key)
                await pilot.pause()

    asyncio.run(drive())
    return seen


def test_a_failed_write_keeps_the_app_open_with_a_one_line_message(tmp_path: Path) -> None:
    result = Result("a b c\n", (Edit(2, 3, "b", "B", "x", 1.0, 0.95),), "s")
    out = tmp_path / "missing" / "out.txt"
    app = ReviewApp(result, "a.txt", write=lambda text: write_atomic(out, encode(text)))
    seen = _drive(app, ["a", "q", "?", "!", "q"], setup=out.parent.mkdir)
    message, status, running = seen[0]
    assert running and status == (ACCEPTED,)  # still open, the decision kept
    assert isinstance(message, Text) and "\n" not in message.plain
    assert message.plain.startswith(f"not written: {out.parent}")  # io names out or its temp
    assert message.plain.endswith(": No such file or directory; press q to try again, "
                                  "ctrl+q to quit")
    assert app.return_value == "a B c\n" and out.read_text(encoding="utf-8") == "a B c\n"


def test_a_refused_write_then_ctrl_q_writes_nothing() -> None:
    def refuse(text: str) -> None:
        raise InputError("[b]a.txt: is the input file; write elsewhere")

    app = ReviewApp(Result("a b\n", (), "s"), "a.txt", write=refuse)
    seen = _drive(app, ["q", "?", "ctrl+q"])
    message, _, running = seen[0]
    assert running and str(message).startswith("not written: [b]a.txt: is the input file")
    assert app.return_value is None


def test_review_model_is_immutable() -> None:
    r0 = Review.start(Result("a b c", (Edit(2, 3, "b", "B", "x", 1.0, 0.95),), "s"))
    r1 = r0.replace(0, "bee")
    assert r0.status == (PENDING,) and r0.edits[0].after == "B"
    assert r1.text() == "a bee c" and r1.kept()[0].confidence == 1.0
    assert r1.decide(0, REJECTED).text() == "a b c"


def test_default_output_name() -> None:
    assert reviewed_name("a/article.txt") == "a/article.reviewed.txt"
    assert reviewed_name("README") == "README.reviewed"
    assert reviewed_name(".hidden") == ".hidden.reviewed"


def _fake_run(keys: list[str], shots: list[str] | None = None):  # type: ignore[no-untyped-def]
    """Stand-in for ReviewApp.run (which needs a terminal): the pilot presses ``keys``."""

    def run(self: ReviewApp) -> str | None:
        async def drive() -> None:
            async with self.run_test(size=(100, 30)) as pilot:
                for k in keys:
                    await pilot.press(k)
                    await pilot.pause()
                    if shots is not None:
                        shots.append(self.export_screenshot())

        asyncio.run(drive())
        return self.return_value

    return run


def test_cli_review_without_a_terminal_is_one_line_error(
    tiny_lm, tiny_lexicon, tmp_path, monkeypatch, capsys
):
    # Piped or redirected (pytest captures both), the UI would hang or draw into a file.
    from clihelp import model_args, run_main

    src = tmp_path / "article.txt"
    src.write_text(SPUN, encoding="utf-8")
    code, out, err = run_main(["review", str(src), *model_args(tiny_lm, tiny_lexicon)],
                              monkeypatch, capsys)
    assert code == 2 and out == ""
    assert "needs a terminal" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "article.reviewed.txt").exists()


def test_cli_review_writes_file_reviewed(repairer, tiny_lm, tiny_lexicon, tmp_path, monkeypatch):
    from clihelp import invoke, model_args

    import repair.cli

    monkeypatch.setattr(repair.cli, "interactive_terminal", lambda: True)

    src = tmp_path / "article.txt"
    src.write_text(SPUN, encoding="utf-8")
    monkeypatch.setattr(ReviewApp, "run", _fake_run(["r", "A", "q"]))
    res = invoke(["review", str(src), "--accept-above", "0.5", *model_args(tiny_lm, tiny_lexicon)])
    assert res.exit_code == 0, res.output
    result = repairer.fix_and_explain(SPUN)
    keep = [i for i, e in enumerate(result.edits) if i > 0 and e.confidence >= 0.5]
    out = tmp_path / "article.reviewed.txt"
    assert out.read_text(encoding="utf-8") == result.apply(keep=keep)
    assert src.read_text(encoding="utf-8") == SPUN

    monkeypatch.setattr(ReviewApp, "run", _fake_run(["a", "q"]))
    assert invoke(["review", str(src), "--in-place", *model_args(tiny_lm, tiny_lexicon)]
                  ).exit_code == 0
    assert src.read_text(encoding="utf-8") == result.apply(keep=[0])
    assert (tmp_path / "article.txt.orig").read_text(encoding="utf-8") == SPUN

    monkeypatch.setattr(ReviewApp, "run", _fake_run(["a", "ctrl+q"]))
    res = invoke(["review", str(src), "-o", "-", *model_args(tiny_lm, tiny_lexicon)])
    assert res.exit_code == 1 and res.stdout == ""


def test_cli_reviews_several_files_one_after_another(
    repairer, tiny_lm, tiny_lexicon, tmp_path, monkeypatch
):
    from clihelp import invoke, model_args

    import repair.cli

    monkeypatch.setattr(repair.cli, "interactive_terminal", lambda: True)
    other = SPUN.replace("demise", "death")
    files = [tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "c.txt"]
    for f, t in zip(files, (SPUN, other, SPUN), strict=True):
        f.write_text(t, encoding="utf-8")
    sessions = iter([["a", "q"], ["r", "a", "q"], ["ctrl+q"]])
    titles: list[str] = []

    def run(self: ReviewApp) -> str | None:
        titles.append(str(self.sub_title))
        return _fake_run(next(sessions))(self)

    monkeypatch.setattr(ReviewApp, "run", run)
    res = invoke(["review", *map(str, files), *model_args(tiny_lm, tiny_lexicon)])
    assert res.exit_code == 1
    assert titles == [f"({i} of 3) {f}" for i, f in enumerate(files, 1)]
    assert (tmp_path / "a.reviewed.txt").read_text(encoding="utf-8") == (
        repairer.fix_and_explain(SPUN).apply(keep=[0]))
    assert (tmp_path / "b.reviewed.txt").read_text(encoding="utf-8") == (
        repairer.fix_and_explain(other).apply(keep=[1]))
    assert not (tmp_path / "c.reviewed.txt").exists()  # abandoned: nothing written for it
    assert "abandoned at" in res.stderr
    assert "2 of 3 files before it: 2 reviewed (2 written), 0 skipped" in res.stderr
    for f, t in zip(files, (SPUN, other, SPUN), strict=True):
        assert f.read_text(encoding="utf-8") == t  # inputs untouched
    # The same command again (a glob would now also name the outputs): it resumes at c.txt.
    reviewed_a = (tmp_path / "a.reviewed.txt").read_bytes()
    sessions = iter([["s"]])  # skipped: nothing written, the batch goes on (and ends)
    titles.clear()
    res = invoke(["review", *map(str, files), *model_args(tiny_lm, tiny_lexicon)])
    assert res.exit_code == 0 and "c.txt: skipped; nothing written for it" in res.stderr
    assert not (tmp_path / "c.reviewed.txt").exists()
    sessions = iter([["a", "q"]])
    titles.clear()
    res = invoke(["review", *map(str, files), str(tmp_path / "a.reviewed.txt"),
                  *model_args(tiny_lm, tiny_lexicon)])
    assert res.exit_code == 0, res.output
    assert titles == [str(files[2])]  # one file left to review: no place shown
    assert "a.txt: reviewed already" in res.stderr and "the review of" in res.stderr
    assert "give it alone with -o OUT" in res.stderr  # how to review a review (QA)
    assert (tmp_path / "c.reviewed.txt").exists()
    assert (tmp_path / "a.reviewed.txt").read_bytes() == reviewed_a  # earlier work kept
    res = invoke(["review", *map(str, files), *model_args(tiny_lm, tiny_lexicon)])
    assert res.exit_code == 0 and "nothing to review" in res.stderr
    sessions = iter([["q"]])  # --again: reviewed anew, the output replaced
    res = invoke(["review", str(files[0]), "--again", *model_args(tiny_lm, tiny_lexicon)])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "a.reviewed.txt").read_text(encoding="utf-8") == SPUN


def test_cli_review_in_place_never_writes_over_a_file_changed_meanwhile(
    repairer, tiny_lm, tiny_lexicon, tmp_path, monkeypatch
):
    from clihelp import invoke, model_args

    import repair.cli

    monkeypatch.setattr(repair.cli, "interactive_terminal", lambda: True)
    src = tmp_path / "a.txt"
    src.write_text(SPUN, encoding="utf-8")
    said: list[object] = []

    def run(self: ReviewApp) -> str | None:
        async def drive() -> None:
            async with self.run_test(size=(100, 30)) as pilot:
                await pilot.press("a")
                src.write_text(SPUN + "added by hand\n", encoding="utf-8")  # meanwhile
                await pilot.press("q")
                await pilot.pause()
                said.append(self.query_one("#message", Static).content)
                await pilot.press("ctrl+q")

        asyncio.run(drive())
        return self.return_value

    monkeypatch.setattr(ReviewApp, "run", run)
    res = invoke(["review", str(src), "--in-place", *model_args(tiny_lm, tiny_lexicon)])
    assert res.exit_code == 1
    assert "changed on disk since it was read; not written over" in str(said[0])
    assert src.read_text(encoding="utf-8") == SPUN + "added by hand\n"
    assert not (tmp_path / "a.txt.orig").exists()


def test_cli_review_of_several_files_refuses_before_any_session(
    tiny_lm, tiny_lexicon, tmp_path, monkeypatch
):
    from clihelp import invoke, model_args

    import repair.cli

    monkeypatch.setattr(repair.cli, "interactive_terminal", lambda: True)
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(SPUN, encoding="utf-8")
    b.write_text(SPUN, encoding="utf-8")
    monkeypatch.setattr(ReviewApp, "run", lambda self: (_ for _ in ()).throw(AssertionError))
    for args, why in (([a, b, "-o", tmp_path / "x.txt"], "-o names the output of one file"),
                      ([a, tmp_path / "." / "a.txt"], "given twice"),
                      ([a, b, "--again"], "is one of the inputs"),
                      ([a, tmp_path / "missing.txt"], "missing.txt"),
                      ([a, tmp_path / "no" / "b.txt"], "no/b.txt: cannot read"),
                      # "" would find the file itself as its backup: "reviewed already"
                      ([a, "--in-place", "--backup-suffix", ""], "--backup-suffix must be")):
        if "--again" in args:  # b's review would go over a, through a link
            (tmp_path / "b.reviewed.txt").symlink_to(a)
        with pytest.raises(Exception, match=re.escape(why)):
            invoke(["review", *map(str, args), *model_args(tiny_lm, tiny_lexicon)])


def test_the_way_out_shows_in_an_80_column_footer(repairer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import html

    for batch in (False, True):
        app = ReviewApp(repairer.fix_and_explain(SPUN), "article.txt", batch=batch)
        shot: list[str] = []

        async def drive() -> None:
            async with app.run_test(size=(80, 24)) as pilot:  # noqa: B023
                await pilot.pause()
                shot.append(app.export_screenshot())  # noqa: B023

        asyncio.run(drive())
        text = html.unescape(shot[0]).replace("\u00a0", " ")
        assert "write & quit" in text, batch


@pytest.mark.skipif(not hasattr(__import__("os"), "openpty"), reason="needs a pseudo-terminal")
def test_the_ui_is_sized_by_the_terminal_it_draws_on_not_by_stdout(tmp_path: Path) -> None:
    """`review -o - > file` redirects stdout; textual asked stdout for the size and drew at
    80x24 in any terminal (QA). The driver asks the stream it draws on (standard error)."""
    import fcntl
    import os
    import struct
    import termios

    from repair import review

    main, side = os.openpty()
    try:
        fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", 20, 100, 0, 0))
        with open(tmp_path / "out.txt", "w") as redirected, os.fdopen(side, "w",
                                                                      closefd=False) as tty:
            assert review.terminal_size(tty) == (100, 20)
            assert review.terminal_size(redirected) is None
            assert review.DRIVER is not None and ReviewApp(Result("x", (), "sig")).driver_class is \
                review.DRIVER
            driver = object.__new__(review.DRIVER)  # only its size is asked here
            driver._file = tty
            assert driver._get_terminal_size() == (100, 20)
    finally:
        os.close(main)
        os.close(side)


def test_an_empty_replacement_is_said_to_delete_the_words() -> None:
    """Clearing the field and pressing Enter deleted the words without a word (QA): the
    message line says so, and u undoes it."""
    result = Result("a b c\n", (Edit(2, 3, "b", "B", "x", 1.0, 0.95),), "s")
    app = ReviewApp(result, "a.txt")
    seen = _drive(app, ["e", "backspace", "enter", "?", "u", "?"])
    message, _, _ = seen[0]
    assert "edit 1: the replacement is empty, so the words are deleted" in str(message)
    assert app.review.text() == "a b c\n"  # undone
    seen = _drive(ReviewApp(result, "a.txt"), ["e", "backspace", "X", "enter", "?"])
    assert "empty" not in str(seen[0][0])
