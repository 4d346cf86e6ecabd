"""The HTML report in a real headless Chromium: toggle edits, download, compare with apply."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from repair import Edit, Result
from repair.render import html_report

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _need_browser() -> None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = "playwright (pip install -e '.[dev]')"
    else:
        missing = "" if Path(CHROMIUM).exists() else "chromium (make browser)"
    if missing:
        # `make test` installs both; in CI a missing browser is a failure, not a skip.
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"needs {missing}")


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def _open(browser, tmp_path: Path, result: Result, name: str):  # type: ignore[no-untyped-def]
    page_file = tmp_path / f"{name}.html"
    page_file.write_text(html_report(result, name), encoding="utf-8")
    ctx = browser.new_context(accept_downloads=True, viewport={"width": 1200, "height": 700})
    page = ctx.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(page_file.as_uri())
    return ctx, page, requests, errors


def _download_bytes(page, tmp_path: Path) -> bytes:  # type: ignore[no-untyped-def]
    with page.expect_download() as info:
        page.click("#download")
    out = tmp_path / "downloaded.txt"
    info.value.save_as(out)
    return out.read_bytes()


def _download(page, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    return _download_bytes(page, tmp_path).decode("utf-8")


def _pressed(page) -> list[int]:  # type: ignore[no-untyped-def]
    return page.eval_on_selector_all(
        ".fix button.e",
        "bs => bs.filter(b => b.getAttribute('aria-pressed') === 'true').map(b => +b.dataset.i)",
    )


EMOJI_TEXT = (
    "🙂🇹🇷 The AK Social gathering said the demise toll had risen 😀 .\n"
    "👍🏽 The faculties were closed for a thirty day period , the navy mentioned .\n"
)


def test_download_matches_apply_with_non_bmp_text(browser, repairer, tmp_path: Path) -> None:
    result = repairer.fix_and_explain(EMOJI_TEXT)
    assert len(result.edits) >= 4, result.edits
    ctx, page, requests, errors = _open(browser, tmp_path, result, "emoji.txt")
    try:
        buttons = page.locator(".fix button.e")
        assert buttons.count() == len(result.edits)
        assert page.locator("del.e").count() == len(result.edits)

        # Everything accepted: the page gives what the library gives.
        assert _download(page, tmp_path) == result.fixed

        # Reject edit 0 by mouse, edit 2 from the keyboard (j to move, Space to toggle).
        buttons.nth(0).click()
        page.keyboard.press("j")  # focus moves from edit 0 to edit 1
        page.keyboard.press("j")
        focused = page.evaluate("document.activeElement.dataset.i")
        assert focused == "2"
        page.keyboard.press("Space")
        page.keyboard.press("k")
        assert page.evaluate("document.activeElement.dataset.i") == "1"
        keep = _pressed(page)
        assert keep == [i for i in range(len(result.edits)) if i not in (0, 2)]
        got = _download(page, tmp_path)
        assert got == result.apply(keep=keep)
        assert got != result.fixed and got != result.text

        # Enter toggles too: re-accept edit 2.
        buttons.nth(2).focus()
        page.keyboard.press("Enter")
        assert _download(page, tmp_path) == result.apply(keep=_pressed(page))

        page.click("#reject-all")
        assert _pressed(page) == []
        assert _download(page, tmp_path) == result.text
        page.click("#accept-all")
        assert page.locator("#status").inner_text().startswith(f"{len(result.edits)} of")

        # The explanation shows on keyboard focus (and on hover, below).
        buttons.nth(1).focus()
        tip = page.locator("#tip-1")
        assert tip.is_visible()
        assert "confidence" in tip.inner_text() and "tiny.tsv:" in tip.inner_text()
        buttons.nth(1).blur()
        buttons.nth(3).hover()
        assert page.locator("#tip-3").is_visible()

        (ROOT / "artefacts").mkdir(exist_ok=True)
        page.screenshot(path=str(ROOT / "artefacts" / "html-report.png"))
    finally:
        ctx.close()
    assert not errors, errors
    assert all(u.startswith(("file:", "blob:", "data:")) for u in requests), requests


def test_non_bmp_inside_edits(browser, tmp_path: Path) -> None:
    """Edits whose own text and surroundings hold astral characters and a lone surrogate."""
    text = "𝒜 a😀b 🙂 c \udcff d 🇹🇷 e\n"
    edits = (
        Edit(2, 5, "a😀b", "ab", "t:1", 1.0, 0.9),
        Edit(6, 7, "🙂", "smile", "t:2", 1.0, 0.6),
        Edit(10, 11, "\udcff", "?", "t:3", 0.5, 0.3),
        Edit(14, 16, "🇹🇷", "TR👍", "t:4", 1.0, 0.99),
    )
    result = Result(text, edits, "sig")
    assert result.text[edits[3].start : edits[3].end] == "🇹🇷"
    ctx, page, _, errors = _open(browser, tmp_path, result, "astral.txt")
    try:
        # The download is UTF-8, so compare in JS, where the lone surrogate survives.
        for keep in ([0, 1, 2, 3], [1, 3], [0, 2], []):
            page.evaluate(
                "keep => document.querySelectorAll('.fix button.e').forEach(b =>"
                " b.setAttribute('aria-pressed', keep.includes(+b.dataset.i) ? 'true' : 'false'))",
                keep,
            )
            js = page.evaluate("window.unspinApplyAccepted()")
            assert js == result.apply(keep=keep)
        page.click("#reject-all")
        page.locator(".fix button.e").nth(3).click()
        # A byte that was not UTF-8 (--errors surrogateescape) comes back as that byte, as
        # from unspin fix and apply; it was written as U+FFFD (QA).
        assert _download_bytes(page, tmp_path) == result.apply(keep=[3]).encode(
            "utf-8", "surrogateescape")
        assert b"\xff" in _download_bytes(page, tmp_path)
    finally:
        ctx.close()
    assert not errors, errors


def test_an_altered_page_says_so_and_its_signature_stays_in_the_window(
    browser, tmp_path: Path
) -> None:
    """An edit that no longer fits the text made the download do nothing, with the error in
    the console only; a long signature widened the page past a 1000-pixel window (QA)."""
    text = "The AK Social gathering said it .\n"
    at = text.index("Social gathering")
    edit = Edit(at, at + len("Social gathering"), "Social gathering", "Party", "r", 1.0, 0.9)
    signature = "unspin:0.1.0|" + "|".join(f"k{i}:{'0' * 12}" for i in range(12))
    result = Result(text, (edit,), signature)
    page_file = tmp_path / "a.html"
    page_file.write_text(html_report(result, "a.txt").replace(
        '"before": "Social gathering"', '"before": "Social gatherinX"'), encoding="utf-8")
    ctx = browser.new_context(accept_downloads=True, viewport={"width": 1000, "height": 500})
    page = ctx.new_page()
    try:
        page.goto(page_file.as_uri())
        status = page.locator("#status")
        assert "edit 1 does not match the text" in status.inner_text()
        assert "altered" in status.inner_text() and page.locator("#download").is_disabled()
        page.locator(".fix button.e").nth(0).click()  # a click does not hide the message
        assert "does not match" in status.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= 1000
    finally:
        ctx.close()
    # the page as made is whole: no message, the download enabled
    page_file.write_text(html_report(result, "a.txt"), encoding="utf-8")
    ctx = browser.new_context(viewport={"width": 1000, "height": 500})
    page = ctx.new_page()
    try:
        page.goto(page_file.as_uri())
        assert page.locator("#status").inner_text() == "1 of 1 edits accepted"
        assert not page.locator("#download").is_disabled()
    finally:
        ctx.close()
