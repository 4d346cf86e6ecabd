"""Script and style elements are markup as a whole: their bodies are never edited.

A browser reads everything from ``<script ...>`` to the first ``</script`` (any case) as the
element's text, whatever it holds, and an unclosed one to the end of the document;
``text.protected_spans`` reads them the same way. Prose around them is still repaired.
"""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repair.text import protected_spans, skip_spans

JS = '<script>var s = "the AK Social gathering mentioned the demise toll";</script>'
SPUN = "The AK Social gathering mentioned the demise toll had risen .\n"
FIXED = "The AK Party said the death toll had risen .\n"


@pytest.mark.parametrize(
    "text, protected",
    [
        (JS, [JS]),
        ("a " + JS + " b", [JS]),
        (
            '<script type="module" src="/x.js" async>if (a < b && c > d) { f("</div>"); }'
            "</script> after",
            ['<script type="module" src="/x.js" async>if (a < b && c > d) { f("</div>"); }'
             "</script>"],
        ),
        (
            '<STYLE type="text/css">p > b { content: "the demise" }</StYlE >after',
            ['<STYLE type="text/css">p > b { content: "the demise" }</StYlE >'],
        ),
        ("<script\n  src=x\n  defer>the demise</script\n>",
         ["<script\n  src=x\n  defer>the demise</script\n>"]),
        ("<script/>the demise</script>", ["<script/>the demise</script>"]),  # / is ignored
        ("x <script>the <!-- demise\n\nnavy", ["<script>the <!-- demise\n\nnavy"]),  # unclosed
        ("<style>the demise", ["<style>the demise"]),
        ("<script>a</style>b</script>c", ["<script>a</style>b</script>"]),  # same name only
        ("<script>a</scripts>b</script>c", ["<script>a</scripts>b</script>"]),
        ("<script>a</script", ["<script>a</script"]),  # close tag cut off by the end
        ("<script>a</script x\nb>c", ["<script>a</script x\nb>"]),
        ("<script>a</script b <i>c", ["<script>a</script", "<i>"]),
        ("<script>a</script><script>b</script>", ["<script>a</script><script>b</script>"]),
        # Not openers: other names, and a <script> that other markup holds first.
        ("<scripts>the demise</scripts>", ["<scripts>", "</scripts>"]),
        ("<scripting>the demise", ["<scripting>"]),
        ("<!-- <script> -->the demise", ["<!-- <script> -->"]),
        ("use `<script>` for the demise", ["`<script>`"]),
        ("```\n<style>\n```\nthe demise", ["```\n<style>\n```"]),
        ("</script>the demise", ["</script>"]),  # a stray close tag is just a tag
        ("the script and the style of the demise", []),
        ("x <script the demise", []),  # no > : not a tag
    ],
)
def test_script_and_style_elements_are_protected_whole(text: str, protected: list[str]) -> None:
    assert [text[a:b] for a, b in protected_spans(text)] == protected


def test_qa_script_body_untouched_while_the_prose_is_repaired(repairer) -> None:
    text = SPUN + JS + "\n" + SPUN
    res = repairer.fix_and_explain(text)
    assert res.fixed == FIXED + JS + "\n" + FIXED
    start = text.index(JS)
    assert res.edits and not [e for e in res.edits if e.end > start and e.start < start + len(JS)]


def test_style_body_with_attributes_untouched(repairer) -> None:
    css = '<STYLE type="text/css" media=screen>\n/* the demise toll */ p { x: 1 }\n</STYLE>'
    res = repairer.fix_and_explain(SPUN + css + "\n" + SPUN)
    assert res.fixed == FIXED + css + "\n" + FIXED


def test_unclosed_script_protects_to_the_end(repairer) -> None:
    rest = '<script>\nvar s = "the AK Social gathering mentioned the demise toll";\n\n' + SPUN
    res = repairer.fix_and_explain(SPUN + rest)
    assert res.fixed == FIXED + rest
    assert all(e.end <= len(SPUN) for e in res.edits)


@pytest.mark.parametrize(
    "prose",
    [
        "The AK Social gathering mentioned the script had risen .\n",
        "The AK Social gathering mentioned the style had risen .\n",
        "The AK Social gathering mentioned the `<script>` tag .\n",
        "The AK Social gathering mentioned <scripts> and </script> .\n",
    ],
)
def test_prose_that_mentions_script_is_still_repaired(repairer, prose: str) -> None:
    res = repairer.fix_and_explain(prose + SPUN)
    want = prose.replace("Social gathering", "Party").replace("mentioned", "said")
    assert res.fixed == want + FIXED


MB = 1_000_000


def _mb(unit: str) -> str:
    return (unit * (MB // len(unit) + 1))[:MB]


@pytest.mark.parametrize(
    "text",
    [
        _mb("<script"),  # openers without >
        _mb("<script "),
        _mb("<style\n"),
        _mb("<script>"),  # openers without a close tag
        "<script>" + _mb("</scrip"),  # close tags that never complete
        "<script>" + _mb("</scriptx"),
        _mb("<script>x</script>"),  # many closed elements
    ],
    ids=["open-no-gt", "open-space", "style-newline", "unclosed", "close-cut", "close-x", "many"],
)
def test_script_scan_is_linear_on_adversarial_input(text: str) -> None:
    t0 = time.perf_counter()
    spans = protected_spans(text)
    skip_spans(text)
    assert time.perf_counter() - t0 < 3  # 0.3 s at worst, measured on a shared 2-core machine
    if text.startswith("<script>") and "</script>" not in text:
        assert spans == [(0, len(text))]


_OPEN = re.compile(r"<(script|style)(?=[\t\n\f\r />])[^<>]*>", re.IGNORECASE)
FRAGMENTS = [
    "<script>", "</script>", "<SCRIPT type=x>", "</Script >", "<style>", "</style>", "<style",
    "<script", "</script", "<!--", "-->", "`", "```\n", "<b>", "</b>", ">", "<", "\n", " ",
    "the demise", "https://x.org/a", "&amp;", "x",
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=3)), max_size=30).map("".join)
)
def test_spans_stay_sorted_disjoint_and_cover_whole_bodies(text: str) -> None:
    for spans in (protected_spans(text), skip_spans(text)):
        prev = -1
        for a, b in spans:
            assert prev < a < b <= len(text)
            prev = b
    spans = protected_spans(text)
    for a, b in spans:
        m = _OPEN.match(text, a)
        if m:  # a span that opens a script or style element runs to its close tag or the end
            close = re.compile(rf"</{m.group(1)}(?=[\t\n\f\r />])", re.IGNORECASE)
            c = close.search(text, m.end())
            assert b >= (c.end() if c else len(text))
