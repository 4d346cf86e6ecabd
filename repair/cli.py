"""The ``unspin`` command: thin wrappers over the library."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import math
import os
import re
import signal
import stat
import sys
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console

from . import DEFAULT_MIN_CONFIDENCE, Config, Repairer, __version__
from .decode import settings_for
from .edits import EditMismatch
from .io import (
    BACKUP_EXISTS,
    InputError,
    backup_of,
    check_output,
    check_readable,
    encode,
    is_input,
    json_line,
    looks_like_records,
    not_stdout,
    os_error_line,
    read_input,
    same_file,
    stand_in_for_closed_streams,
    write_atomic,
    write_output,
)
from .lexicon import LexiconError
from .lm import ModelError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from .lexicon import Row
    from .pipeline import Folder, Stats

# Markdown mode: a docstring's paragraphs are re-wrapped to the terminal (rich mode would
# keep the source's line breaks and leave fragments of lines at other widths).
MARKUP: Literal["markdown"] = "markdown"
app = typer.Typer(
    add_completion=False,
    rich_markup_mode=MARKUP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Repair synonym-spun English text, showing and explaining every change.",
)
learn_app = typer.Typer(no_args_is_help=True, rich_markup_mode=MARKUP, help="Learn phrase tables.")
app.add_typer(learn_app, name="learn")
lexicon_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=MARKUP, help="Inspect phrase tables."
)
app.add_typer(lexicon_app, name="lexicon")

# soft_wrap: an error message stays one line however narrow the terminal.
# emoji=False: a name such as ":thumbs_up:.txt" is told as given, not drawn as a picture.
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


class Fail(Exception):
    """A user-facing failure: one line on stderr and a non-zero exit."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def say(*lines: str) -> None:
    """Print a report's lines whose exit status tells something (``lexicon check``,
    ``lexicon show``): a reader that leaves early (``| head -1``) ends what it sees, but the
    command goes on, its notes on stderr and its status told (a closed pipe elsewhere is a
    normal end: exit 0, :func:`main`)."""
    try:
        print(*lines, sep="\n")
    except BrokenPipeError:
        reader_left()


def reader_left() -> None:
    """Standard output's reader has gone: send what is still printed to the null device,
    so that neither later prints nor the interpreter's last flush fail."""
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, sys.stdout.fileno())
    finally:
        os.close(null)


LmOpt = Annotated[
    str | None, typer.Option("--lm", metavar="MODEL",
                             help="KenLM model (default: $UNSPIN_LM, then lm/build)")
]
MapOpt = Annotated[
    str | None,
    typer.Option("--map", metavar="MAP|none", envvar="UNSPIN_MAP", show_envvar=False,
                 help="Confidence map (unspin calibrate -o MAP) to use instead of the "
                 "default, e.g. one fitted for your tables; none: no map "
                 "(default: $UNSPIN_MAP, then the built one)"),
]
LexOpt = Annotated[
    list[str] | None,
    typer.Option("--lexicon", "-l", metavar="TABLE",
                 help="Phrase table(s) to use instead of the defaults"),
]
ConfOpt = Annotated[
    float | None,
    typer.Option(
        "--min-confidence", metavar="0..1",
        help="Drop edits below this calibrated confidence (0..1; default "
        f"{DEFAULT_MIN_CONFIDENCE} with the calibration map that make setup fits, else 0)",
    ),
]
BiasOpt = Annotated[
    float | None,
    typer.Option("--bias", metavar="LOG10",
                 help="Extra log10 cost per replacement (higher: fewer edits)"),
]
SynthOpt = Annotated[
    str | None,
    typer.Option(
        "--synthetic", metavar="FILE|none",
        help="Clean news (a paragraph a line) that the learned channel spins into more "
        "training texts for the re-scorer (default: lm/build/heldout-dev.txt, which make "
        "setup writes; none: the dev texts alone)",
    ),
]
PassesOpt = Annotated[
    int,
    typer.Option(
        "--passes", metavar="N", min=1,
        help="Repair the repaired text again, up to N passes, until one finds nothing "
        "(2: a further run changes nothing on the dev texts; about 50% more time)",
    ),
]
ErrOpt = Annotated[
    str, typer.Option("--errors", metavar="MODE",
                      help="Invalid UTF-8: strict (error), replace, surrogateescape")
]

FieldOpt = Annotated[str, typer.Option("--field", metavar="NAME",
                                       help="JSONL: the field holding the text")]
SkipBadOpt = Annotated[
    bool, typer.Option("--skip-bad", metavar="",
                       help="Pass bad JSONL lines through, skip bad files "
                       "(unreadable, not UTF-8, binary); count them")
]
JobsOpt = Annotated[int, typer.Option(
    "--jobs", "-j", min=1, metavar="N",
    help="Worker processes, at most (each loads the models: a small input runs on fewer)")]
_GROUP = "JSONL: consecutive records with the same FIELD value are the parts of one document "


def _group_opt(what: str) -> Any:
    return typer.Option("--group", metavar="FIELD", help=_GROUP + what)


GroupOpt = Annotated[str | None, _group_opt("(its paragraphs), judged and repaired together")]
ScoreGroupOpt = Annotated[str | None, _group_opt("(its paragraphs): each gets its score")]
LearnGroupOpt = Annotated[str | None, _group_opt("(its paragraphs), learnt from together")]
MaxPartsOpt = Annotated[
    int | None,
    typer.Option("--max-parts", min=1, metavar="N",
                 help="JSONL --group: most records one document may hold, in memory whole "
                 "(default 20,000); a longer run of one value stops the run"),
]
JsonOpt = Annotated[bool, typer.Option("--json", metavar="", help="Machine-readable output")]
InPlaceOpt = Annotated[
    bool, typer.Option("--in-place", metavar="",
                       help="Rewrite the input file itself, keeping a backup")
]
DEFAULT_BACKUP = ".orig"
BackupOpt = Annotated[
    str,
    typer.Option("--backup-suffix", metavar="SUFFIX",
                 help="With --in-place: keep the old file as FILE+SUFFIX"),
]


def check_target(
    path: str, output: str | None, in_place: bool, backup: str = DEFAULT_BACKUP,
    errors: str = "strict", backup_free: bool = True,
) -> None:
    """Refuse impossible output choices before any work is done: -o that cannot be written
    or names the input, and --in-place without a safe backup (``backup_free``: also that
    no earlier backup would be overwritten; fix and apply check that only once they know
    they will write, so a file with nothing to change passes however often it is run)."""
    if not in_place:
        if backup != DEFAULT_BACKUP:
            raise Fail("--backup-suffix names the backup --in-place keeps; pass --in-place too, "
                       "or drop it")
        check_output(output, path)
        return
    if output is not None:
        raise Fail("--in-place rewrites the input; drop -o, or drop --in-place")
    if path == "-":
        raise Fail("--in-place needs a file, not stdin")
    _check_backup_suffix(backup)
    if backup_free and os.path.lexists(backup_of(path, backup)):
        raise Fail(f"{_shown_backup(path, backup)}: {BACKUP_EXISTS}")
    if errors == "replace":
        raise Fail("--in-place with --errors replace would write U+FFFD over the bytes that are "
                   "not UTF-8; pass --errors surrogateescape to keep them as they are")
    folder = Path(os.path.realpath(path)).parent
    if not os.access(folder, os.W_OK):
        raise Fail(f"{path}: cannot rewrite it: folder {folder} is not writable")
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # reported as the input is read
    if not stat.S_ISREG(mode):  # a pipe would be read twice (the check for changes), and
        raise Fail(f"{path}: is not a regular file (a named pipe?); --in-place rewrites "
                   "files, -o writes the repair elsewhere")  # replaced by a file
    # By its mode, not os.access: root may write anything, and a file someone marked
    # read-only (an approved article, say) is not to be rewritten behind their back; a run
    # with nothing to change passes, as for the backup.
    if backup_free and not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        raise Fail(f"{path}: is read-only; make it writable (chmod u+w) to rewrite it in "
                   "place, or write the repair elsewhere with -o")


def _shown_backup(path: str, backup: str) -> str:
    """The backup of ``path`` as the user would name it: ``path + backup``, unless ``path``
    is a symbolic link, whose target's backup it is (:func:`repair.io.backup_of`)."""
    return str(backup_of(path, backup)) if os.path.islink(path) else path + backup


def _check_backup_suffix(backup: str) -> None:
    if not backup or "/" in backup or os.sep in backup:
        raise Fail("--backup-suffix must be a non-empty file name suffix such as .orig: "
                   "--in-place always keeps a backup")


def write_text(
    path: str, output: str | None, in_place: bool, backup: str, text: str, errors: str,
    changed: bool = True, read: str | None = None,
) -> bool:
    """-o OUT (never the input), --in-place with a backup, else stdout; files atomically.
    In place, a text that nothing ``changed`` is left as it is (no rewrite, no backup), and
    the file is not written over when it no longer holds ``read``, the text that was
    repaired (someone changed it during the run: their change would be lost).
    Whether anything was written."""
    try:
        check_target(path, output, in_place, backup, errors, backup_free=changed)
    except Fail as e:  # an InputError, which review's app shows and stays open on
        raise InputError(str(e)) from None
    if in_place:
        if not changed:
            return False
        if read is not None and read_input(path, errors) != read:
            # an InputError, not Fail: review's app shows it and stays open (decisions kept)
            raise InputError(f"{path}: changed on disk since it was read; not written over "
                             "(run again on the new text)")
        write_atomic(path, encode(text, errors), backup)
    else:
        write_output(output, text, errors, source=path)
    return True


def refuse_read_files(output: str | None, files: Iterable[str | None]) -> None:
    """Refuse, before any work, an output file that is one of the models, tables or maps
    the run reads (``-o`` naming a ``-l`` table was written over, exit 0)."""
    if output is None or output == "-" or Path(output).is_dir():
        return
    for f in files:
        if f and same_file(output, f):
            raise Fail(f"{output}: is one of the models, tables or maps this run reads "
                       f"({f}); write elsewhere")


def _read_files(c: Config) -> list[str | None]:
    """The files a run of ``c`` reads besides its input."""
    from .calibrate import MODEL_SUFFIX
    from .lm import ModelError, locate

    try:
        lm: str | None = str(locate(c.lm))
    except ModelError:
        lm = c.lm  # reported as the run loads it
    # the map, and its model file beside it
    maps = [c.calibration, str(Path(c.calibration).with_suffix(MODEL_SUFFIX))] \
        if c.calibration else []
    return [lm, c.news_lm, *c.lexicons, *maps, c.disabled]


def make_config(
    lm: str | None,
    lexicon: list[str] | None,
    min_confidence: float | None = None,
    bias: float | None = None,
    passes: int = 1,
    map_path: str | None = None,
    output: str | None = None,
) -> Config:
    if min_confidence is not None and not 0.0 <= min_confidence <= 1.0:
        raise Fail("--min-confidence must be between 0 and 1")
    if bias is not None and not math.isfinite(bias):
        raise Fail("--bias must be a finite number (log10 cost per replacement)")
    c = Config(lm=lm, min_confidence=min_confidence, passes=passes)
    if map_path is not None:
        if map_path.lower() == "none":
            c = replace(c, calibration=None)
        elif not Path(map_path).is_file():
            raise Fail(f"--map (or $UNSPIN_MAP) {map_path}: no such file (a map that unspin "
                       "calibrate -o wrote)")
        else:
            c = replace(c, calibration=map_path)  # a misfit is noted once loaded (load)
    if lexicon:
        c = replace(c, lexicons=tuple(lexicon))
    refuse_read_files(output, _read_files(c))
    return c if bias is None else replace(c, bias=bias)


def synthetic_source(path: str | None) -> Path | None:
    """The file ``--synthetic`` names: ``none`` for none, else the one ``make setup``
    writes (when it is there)."""
    from . import calibrate as cal

    if path is not None and path.lower() == "none":
        return None
    return Path(path) if path is not None else cal.default_synthetic()


def synthetic_texts(path: str | None, method: str | None) -> tuple[list[str], str]:
    """``--synthetic``: its documents and what to record of them (``none``: no file). A
    named file is read, and so checked, whatever the map; only a re-scorer learns from the
    texts (the other maps read the decoder's confidence alone)."""
    from . import calibrate as cal

    src = synthetic_source(path)
    if src is None:
        return [], "none"
    try:
        texts = cal.synthetic_texts(src)
    except (OSError, UnicodeDecodeError) as e:
        why = getattr(e, "strerror", None) or e
        raise Fail(f"--synthetic {src}: cannot read ({why})") from None
    if method != "rescorer":
        return [], "none"
    digest = hashlib.sha256("\0".join(texts).encode()).hexdigest()[:12]
    return texts, f"{src.name}:{digest}:{len(texts)}"


def load(
    config: Config, make: Callable[[Config], Repairer] = Repairer, repairs: bool = False
) -> Repairer:
    """``make(config)``, a missing model or bad table failing in one line; for a command
    that ``repairs``, a one-line note when the default confidence map does not fit the
    default build it runs on (:attr:`Repairer.unfitted_map`; ``make setup`` refits)."""
    try:
        r = make(config)
    except (ModelError, LexiconError) as e:
        raise Fail(str(e)) from None
    if repairs and r.unfitted_map:
        err.print(
            f"unspin: note: {r.unfitted_map} was fitted for other models or tables and is not "
            "applied; the decoder judges its edits alone (run 'make setup' to refit it)",
            style="dim", markup=False,
        )
    elif repairs and r.decoder.calibration is not None and config.calibration:
        misfit = r.map_misfit(config.calibration)  # a map named by --map or $UNSPIN_MAP
        if misfit:
            names = {"lm": "language model", "news": "news model", "lex": "phrase tables"}
            err.print(f"unspin: note: {config.calibration} was fitted for another "
                      f"{' and '.join(names[k] for k in misfit)} than this run's, so its "
                      "confidences may mean little here; fit one for them with unspin "
                      "calibrate DEV -o MAP", style="dim", markup=False)
    return r


def check_new_output(
    output: Path | str | None, inputs: Iterable[Path | str] = (), option: str = "-o"
) -> None:
    """Refuse, before any work, an output that cannot be written (see
    :func:`repair.io.check_output`; ``option`` names it there) or that is one of the
    ``inputs`` (files, folders whose files are read, or ``-``: the file standard input
    comes from)."""
    if output is None:
        return
    check_output(str(output), option=option)
    for p in inputs:
        if str(p) == "-":  # standard input, redirected from a file perhaps
            if is_input(output, "-"):
                raise Fail(f"{output}: is one of the inputs (standard input); write elsewhere")
            continue
        files = sorted(Path(p).iterdir()) if Path(p).is_dir() else [Path(p)]
        for f in files:
            if same_file(output, f):
                raise Fail(f"{output}: is one of the inputs ({f}); write elsewhere")


def _check_group(group: str | None, field: str, jsonl: bool,
                 other: str = "pass --jsonl (a text file is one document)",
                 max_parts: int | None = None) -> None:
    """--group names a field of JSON Lines records other than the text field; --max-parts
    goes with it."""
    if group is None:
        if max_parts is not None:
            raise Fail("--max-parts limits the documents of --group; pass --group FIELD")
        return
    if not group:
        raise Fail("--group needs a field name, not an empty one")
    if not jsonl:
        raise Fail(f"--group groups JSON Lines records; {other}")
    if group == field:
        raise Fail(f"--group {group} is the text field itself; name the field that tells "
                   "which document a record belongs to")


def _check_batch_options(path: str, jsonl: bool, field: str, edits_field: str | None,
                         skip_bad: bool, jobs: int, resume: bool) -> None:
    """Refuse options the run would ignore: record fields without --jsonl, and the options
    of many documents (skipping, workers, resuming) on one text file."""
    if jsonl:
        return
    _check_record_fields((("--field", field != "text"),
                          ("--edits-field", edits_field is not None)))
    if Path(path).is_dir():
        return
    if any((skip_bad, jobs > 1, resume)):
        try:  # a typo in the name is the problem to report, not the options
            check_readable(path)
        except InputError as e:
            raise Fail(str(e)) from None
    for opt, given in (("--skip-bad", skip_bad), ("-j", jobs > 1), ("--resume", resume)):
        if given:
            raise Fail(f"{opt} works on many documents: pass --jsonl for JSON Lines, or a "
                       "folder with -o OUTDIR (a text file is one document)")


def _check_record_fields(given: Iterable[tuple[str, bool]]) -> None:
    """Refuse, without --jsonl, the options that name a field of JSON Lines records."""
    for opt, named in given:
        if named:
            raise Fail(f"{opt} names a field of JSON Lines records; pass --jsonl")


def _refuse_records(path: str, text: str, why: str = "repair their text field (as prose "
                    "every field, ids too, would be rewritten)") -> None:
    """A text whose first line is a JSON object is JSON Lines given without --jsonl: repaired
    as prose, its ids and every other field would be rewritten too."""
    if looks_like_records(text):
        name = "standard input" if path == "-" else path
        raise Fail(f"{name}: holds JSON Lines records; pass --jsonl to {why}")


def _check_errors(errors: str) -> None:
    if errors not in ("strict", "replace", "surrogateescape"):
        raise Fail("--errors must be strict, replace or surrogateescape")


@app.command()
def fix(
    path: Annotated[str, typer.Argument(help="Input file, or - for stdin")] = "-",
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", metavar="FILE|OUTDIR",
                     help="Output file (default: stdout); OUTDIR for a folder"),
    ] = None,
    in_place: InPlaceOpt = False,
    backup_suffix: BackupOpt = DEFAULT_BACKUP,
    lm: LmOpt = None,
    lexicon: LexOpt = None,
    map_path: MapOpt = None,
    min_confidence: ConfOpt = None,
    bias: BiasOpt = None,
    passes: PassesOpt = 1,
    errors: ErrOpt = "strict",
    jsonl: Annotated[bool, typer.Option("--jsonl", metavar="", help="Input is JSON Lines")] = False,
    field: FieldOpt = "text",
    edits_field: Annotated[
        str | None, typer.Option("--edits-field", metavar="NAME",
                                 help="JSONL: also store the edits here")
    ] = None,
    skip_bad: SkipBadOpt = False,
    jobs: JobsOpt = 1,
    resume: Annotated[
        bool, typer.Option("--resume", metavar="",
                           help="Skip work already in -o (JSONL lines, newer files)")
    ] = False,
    group: GroupOpt = None,
    max_parts: MaxPartsOpt = None,
) -> None:
    """Write the repaired text; or repair JSON Lines (--jsonl) or a folder (DIR -o OUTDIR)."""
    _check_errors(errors)
    _check_group(group, field, jsonl, max_parts=max_parts)
    _check_batch_options(path, jsonl, field, edits_field, skip_bad, jobs, resume)
    if jsonl or Path(path).is_dir():
        if in_place:
            raise Fail("--in-place works on one file; for a folder or JSONL pass -o")
        if backup_suffix != DEFAULT_BACKUP:
            raise Fail("--backup-suffix names the backup --in-place keeps, and --in-place works "
                       "on one file; drop it")
        config = make_config(lm, lexicon, min_confidence, bias, passes, map_path, output)
        _batch(config, path, output, jsonl, field, edits_field, None, True, skip_bad, jobs,
               resume, errors, group=group, max_parts=max_parts)
        return
    check_target(path, output, in_place, backup_suffix, errors, backup_free=False)
    text = read_input(path, errors)
    _refuse_records(path, text)
    config = make_config(lm, lexicon, min_confidence, bias, passes, map_path, output)
    result = load(config, repairs=True).fix_and_explain(text)
    names = other_names(path) if in_place else 0
    written = write_text(path, output, in_place, backup_suffix, result.fixed, errors,
                         changed=bool(result.edits), read=text)
    if in_place and not written:
        err.print(f"0 edit(s): {path} left as it was", style="dim", markup=False)
    elif in_place or output not in (None, "-"):  # on stdout the text is the whole answer
        err.print(f"{len(result.edits):,} edit(s)", style="dim")
    _note_other_names(path, names if written else 0)


def other_names(path: str) -> int:
    """How many other names (hard links) the file at ``path`` has."""
    try:
        return os.stat(path).st_nlink - 1
    except OSError:
        return 0


def _note_other_names(path: str, names: int) -> None:
    """--in-place replaces the file (atomically): its other names keep the old text."""
    if names > 0:
        err.print(f"unspin: note: {path} had {names:,} other name{_s(names)} (hard "
                  f"link{_s(names)}), which still hold{'s' if names == 1 else ''} the text as "
                  "it was", markup=False)


class Format(str, Enum):
    terminal = "terminal"
    json = "json"
    unified = "unified"
    html = "html"


@app.command()
def diff(
    path: Annotated[
        str, typer.Argument(help="Input file, - for stdin, or a folder (with --format html)")
    ] = "-",
    format: Annotated[Format, typer.Option(
        "--format", "-f", help="terminal (colours), json (edits, for unspin apply), unified "
        "(a patch) or html (a page; a folder: a page each and an index, -o OUTDIR)"),
    ] = Format.terminal,
    explain: Annotated[bool, typer.Option(
        metavar="",
        help="List each edit's reason (in a unified patch, as # lines before the header)")] = True,
    side_by_side: Annotated[
        bool, typer.Option("--side-by-side", "-s", metavar="",
                           help="Terminal: original | repaired columns")
    ] = False,
    pager: Annotated[bool, typer.Option("--pager", metavar="",
                                        help="Terminal: page long output")] = False,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", metavar="FILE|OUTDIR",
                     help="Write here (default: stdout); OUTDIR for a folder"),
    ] = None,
    lm: LmOpt = None,
    lexicon: LexOpt = None,
    map_path: MapOpt = None,
    min_confidence: ConfOpt = None,
    bias: BiasOpt = None,
    passes: PassesOpt = 1,
    errors: ErrOpt = "strict",
) -> None:
    """Show the proposed edits: coloured diff, JSON, unified patch, or an HTML review page.

    Without colour (piped, or NO_COLOR set) edits read [-old-]{+new+}. A folder with
    --format html -o OUTDIR gives one page per *.txt file and OUTDIR/index.html.
    """
    from . import render

    _check_errors(errors)
    for opt, given in (("--side-by-side", side_by_side), ("--pager", pager)):
        if given and format is not Format.terminal:
            raise Fail(f"{opt} shapes the terminal diff; drop it, or drop --format "
                       f"{format.value}")
    config = make_config(lm, lexicon, min_confidence, bias, passes, map_path, output)
    if Path(path).is_dir():
        if format is not Format.html or not output:
            raise Fail(f"{path}: is a folder; pass --format html -o OUTDIR for a set of reports")
        from .pipeline import BadInput, check_dir_run

        out = Path(output)
        try:  # before the models load: the folders, and no page written onto an input
            folder = check_dir_run(Path(path), out, ".html", "index.html")
        except BadInput as e:
            raise Fail(str(e)) from None
        _html_dir(load(config, repairs=True), Path(path), out, errors, folder)
        return
    # The input and output are checked before the models load (seconds), as fix does.
    check_output(output, path)
    text = read_input(path, errors)
    result = load(config, repairs=True).fix_and_explain(text)
    name = None if path == "-" else path
    if format is Format.terminal:
        if output is None or output == "-":
            # NO_COLOR asks for plain text (docs/editors.md): no styles at all, not only no
            # colours as rich would give, and the marks [-old-]{+new+} instead.
            plain = bool(os.environ.get("NO_COLOR"))
            console = Console(highlight=False, emoji=False,
                              color_system=None if plain else "auto")
            paged = pager and console.is_terminal
            if paged and not _pager_found():
                err.print(f"unspin: note: no pager {_pager_command()!r} found; printing the "
                          "diff without one", style="dim", markup=False)
                paged = False
            if paged:
                os.environ.setdefault("LESS", "-R")  # keep colours in less
                with console.pager(styles=True):
                    render.print_diff(result, console, name, explain, side_by_side)
            else:
                render.print_diff(result, console, name, explain, side_by_side)
            return
        buf = io.StringIO()
        render.print_diff(result, Console(file=buf, highlight=False, emoji=False,
                                          color_system=None),
                          name, explain, side_by_side)
        page = buf.getvalue()
    elif format is Format.json:
        page = render.as_json(result, name) + "\n"
    elif format is Format.unified:
        page = render.unified(result, name or "-", explain)
    else:
        page = render.html_report(result, name)
    write_output(output, page, errors, source=path)


def _pager_command() -> str:
    """The pager that rich (through pydoc) runs: $MANPAGER or $PAGER ("": pydoc's choice)."""
    return os.environ.get("MANPAGER") or os.environ.get("PAGER") or ""


def _pager_found() -> bool:
    """Whether the pager named in the environment exists (pydoc would run a missing one
    through the shell, which prints "not found", and the diff would be lost)."""
    import shlex
    import shutil

    if not _pager_command():
        return True  # pydoc finds less, more or its own
    try:
        words = shlex.split(_pager_command())
    except ValueError:
        return False
    return bool(words) and shutil.which(words[0]) is not None


def _note_left_out(folder: Folder, out: Path) -> None:
    """Say so when the output folder lies inside the input folder and holds *.txt files:
    they are not read (a second run would otherwise repair the first run's output); and name
    the *.txt entries that are not files."""
    from .pipeline import SHOWN_SKIPPED
    from .render import visible

    if folder.inside:
        err.print(f"unspin: note: {folder.inside} *.txt file(s) inside the output folder "
                  f"{out} left out", style="dim", markup=False)
    if folder.linked:
        err.print(f"unspin: note: {folder.linked} *.txt link(s) leading into the output "
                  f"folder {out} left out", style="dim", markup=False)
    passed = folder.others
    if passed:  # every entry accounted for: a pipe or a broken link is not read, and said so
        shown = ", ".join(f"{visible(str(f), breaks=False)} ({what})"
                          for f, what in passed[:SHOWN_SKIPPED])
        more = f" and {len(passed) - SHOWN_SKIPPED} more" if len(passed) > SHOWN_SKIPPED else ""
        err.print(f"unspin: note: {len(passed)} *.txt entr{'y' if len(passed) == 1 else 'ies'} not "
                  f"read, not being files: {shown}{more}", style="dim", markup=False)


def _html_dir(repairer: Repairer, src: Path, out: Path, errors: str, folder: Folder) -> None:
    from . import render

    rows = []
    _note_left_out(folder, out)
    for p in folder.files:  # the files `unspin fix DIR -o OUT` reads
        rel = p.relative_to(src).as_posix()
        try:
            result = repairer.fix_and_explain(read_input(str(p), errors))
        except InputError as e:
            err.print(f"unspin: skipped {e}", markup=False)
            continue
        target = out / (rel + ".html")
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, render.html_report(result, rel).encode("utf-8"))
        rows.append((rel, rel + ".html", result))
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "index.html", render.html_index(rows, f"unspin: {src}").encode("utf-8"))
    err.print(f"{out / 'index.html'}: {len(rows)} report(s)", style="dim", markup=False)


@app.command()
def info(
    as_json: JsonOpt = False,
    lm: LmOpt = None,
    lexicon: LexOpt = None,
    map_path: MapOpt = None,
) -> None:
    """Version, signature, model paths and phrase tables."""
    r = load(make_config(lm, lexicon, map_path=map_path))
    d = {
        "version": __version__,
        "signature": r.signature,
        "lm_path": str(r.lm.path),
        "lm_order": r.lm.order,
        "news_lm_path": str(r.news.path) if r.news is not None else None,
        "lexicons": [str(p) for p in r.lexicon.files],
        "lexicon_rows": len(r.lexicon.rows),
        "calibration": r.config.calibration if r.decoder.calibration is not None else None,
        "min_confidence": r.decoder.w.min_confidence,
    }
    if as_json:
        print(json.dumps(d, indent=2))
    else:
        for k, v in d.items():
            print(f"{k}: {', '.join(v) if isinstance(v, list) else 'none' if v is None else v}")


CURVE = (0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)  # thresholds of eval --curve


@app.command("eval")
def eval_(
    dev: Annotated[Path, typer.Argument(help="A folder with pairs/ and clean/ (as ../shared/dev)")],
    loo: Annotated[
        bool, typer.Option(metavar="",
                           help="Leave-one-article-out: re-learn the pairs table without each "
                           "article (a story spun twice: both copies)")
    ] = True,
    as_json: JsonOpt = False,
    by_rule: Annotated[bool, typer.Option(
        "--by-rule", metavar="",
        help="Per-rule counts: fired (on clean text too, where every change is wrong), and "
        "right (its words line up with the original there, as precision counts)")] = False,
    per_article: Annotated[
        bool, typer.Option("--per-article", metavar="",
                           help="With --json: every pair's own figures")
    ] = False,
    curve: Annotated[
        bool,
        typer.Option("--curve", metavar="",
                     help="Also score --min-confidence 0.5, 0.6, 0.65 ... 0.95 (steps of 0.05)"),
    ] = False,
    boot: Annotated[
        int,
        typer.Option("--bootstrap", min=0, metavar="N",
                     help="95% intervals from N resamples of the articles (100 or more; "
                     "seed 0; 0: none)"),
    ] = 0,
    synthetic: SynthOpt = None,
    lm: LmOpt = None,
    lexicon: LexOpt = None,
    map_path: MapOpt = None,
    min_confidence: ConfOpt = None,
    bias: BiasOpt = None,
) -> None:
    """Score pairs and clean texts with the conventions of the dev set.

    Each pair is repaired with the pairs table re-learnt without it (leave-one-out; a story
    spun twice, two pairs whose originals share their text, is left out whole), and the
    confidence map, when there is one, is re-fitted for each fold of texts on the other
    folds' texts, repaired with tables that never saw the fold, and on --synthetic texts
    spun by a channel that never saw it: no text is scored by anything learnt from it.
    --map chooses the kind of map so re-fitted (the built re-scorer, a map of one's own from
    unspin calibrate -o, or none: the decoder alone at its conservative settings).
    With --bootstrap, each figure gets a percentile interval from resampling whole articles:
    how far it could move on other articles of the same kind.
    """
    from . import calibrate as cal
    from .evaluate import MIN_RESAMPLES, Report, loo_rows
    from .lexicon import Lexicon, read_tables

    if per_article and not as_json:
        raise Fail("--per-article adds every pair's figures to the JSON; pass --json too")
    if 0 < boot < MIN_RESAMPLES:  # refused before the run, as Report.intervals would after
        raise Fail(f"--bootstrap {boot}: an interval needs {MIN_RESAMPLES} resamples or more "
                   "(1000 is usual; 0: none)")
    _check_dev(dev)
    config = make_config(lm, lexicon, min_confidence, bias, map_path=map_path)
    base = load(config)
    if loo:  # rows mined from the pairs (by provenance) are re-mined without each article
        rows, mined = loo_rows(config.lexicons)
        if mined and lexicon:  # a table of one's own: say that its mined rows are not used
            err.print(f"unspin: note: rows of source mined-from-pairs in the tables given are "
                      f"set aside; leave-one-out re-mines them from {dev}/pairs without each "
                      "article (--no-loo scores the tables as given)", style="dim",
                      markup=False)
    else:
        rows, mined = list(read_tables(config.lexicons)), False

    def raw_for(lex: Lexicon) -> cal.Raw:
        return base.with_lexicon(lex).raw

    fitted = base.decoder.calibration
    method = getattr(fitted, "method", None)
    texts, synth = synthetic_texts(synthetic, method)
    runs = cal.dev_runs(dev, raw_for, rows, True, cal.leave_one_out if mined else None,
                        cal.FOLDS if method else 0, synthetic=texts)
    thresholds = [base.decoder.w.min_confidence, *(CURVE if curve else ())]
    try:
        rep, *others = cal.crossfit_reports(runs, method, thresholds)
    except cal.TooFewEdits as e:
        raise Fail(f"{dev}: cannot fit the re-scorer of every fold ({e}); a larger dev set, "
                   "or the synthetic training texts (no --synthetic none), gives it more") from None

    def cis(r: Report) -> dict[str, object]:
        return {f"{k}_ci95": list(v) for k, v in r.intervals(boot).items()} if boot else {}

    pairs_table = ("re-mined without each article" if mined
                   else "as given" if not loo else "none given")
    summary = {**rep.summary(), **cis(rep), "loo": loo, "pairs_table": pairs_table,
               "map": method or "none",
               "map_folds": cal.FOLDS if method else 0, "synthetic": synth,
               **({"bootstrap": boot} if boot else {}), "signature": base.signature}
    points = [
        {"min_confidence": t, "recovery": round(r.recovery, 4),
         "precision": round(r.precision, 4), "clean_changes_per_1000": round(r.clean_per_1000, 3),
         **cis(r)}
        for t, r in zip(CURVE, others, strict=True)
    ] if curve else []
    summary = _json_safe(summary)
    if as_json:
        out: dict[str, object] = {"summary": summary}
        if curve:
            out["curve"] = points
        if per_article:
            out["pairs"] = [p.__dict__ if hasattr(p, "__dict__") else _row(p) for p in rep.pairs]
        if by_rule:
            out["rules"] = _rules(rep.rules, rows)
        print(json.dumps(out, indent=2, allow_nan=False))
        return
    for k, v in summary.items():
        print(f"{k}: {_cell(v)}")
    if curve:
        print("\n" + "\t".join(points[0]))
        for pt in points:
            print("\t".join(_cell(v) for v in pt.values()))
    if by_rule:
        print("\nrule\trow\tfired\tright")
        for r in _rules(rep.rules, rows):
            print(f"{r['rule']}\t{r['row']}\t{r['fired']}\t{r['right']}")


def _check_dev(dev: Path) -> None:
    """A dev folder laid out like ../shared/dev, with pairs in it; one note per spun text
    whose original is missing (it is left out)."""
    from .learn import lone_originals, pair_files

    if not dev.is_dir():
        raise Fail(f"{dev}: " + ("is a file; pass" if dev.exists() else "no such folder; pass")
                   + " a folder laid out like ../shared/dev")
    if not (dev / "pairs").is_dir():
        raise Fail(f"{dev}: no pairs/ folder; pass a folder laid out like ../shared/dev")
    files = pair_files(dev / "pairs")  # named, not read: the command reads them once
    if all(orig is None for _, _, orig in files):
        raise Fail(f"{dev}/pairs: no NNN.spun.txt / NNN.orig.txt pairs found")
    for _, spun, orig in files:
        if orig is None:
            err.print(f"unspin: note: {spun} has no .orig.txt beside it; left out", markup=False)
    for lone in lone_originals(dev / "pairs"):
        err.print(f"unspin: note: {lone} has no .spun.txt beside it; left out", markup=False)
    if not any((dev / "clean").glob("*.txt")):
        err.print(f"unspin: note: {dev}: no clean/*.txt texts: changes to clean text (and the "
                  "spin score's AUC) are not measured", markup=False)


def _json_safe(d: dict[str, Any]) -> dict[str, Any]:
    """``d`` with NaN and infinite figures as None (JSON has neither; an AUC is NaN when a
    set lacks one of its two classes)."""
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v
            for k, v in d.items()}


def _cell(v: object) -> str:
    return "-".join(map(str, v)) if isinstance(v, list) else str(v)


def _row(p: object) -> dict[str, object]:
    return {k: getattr(p, k) for k in p.__slots__}  # type: ignore[attr-defined]


def _rules(c: object, rows: Iterable[Row] = ()) -> list[dict[str, object]]:
    """Per rule: how often it fired and was right, and the row it names (``spun -> original``,
    ``+inflection`` rules by their row; "" for a mechanism that no row names)."""
    from .lexicon import made_rule_parts, rule_parts

    agg: dict[str, list[int]] = {}
    for (rule, ok), n in c.items():  # type: ignore[attr-defined]
        a = agg.setdefault(rule, [0, 0])
        a[0] += n
        a[1] += n if ok else 0
    texts = {r.rule: f"{r.spun} -> {r.original}" for r in rows}

    def one(rule: str) -> str:
        base = rule.removesuffix("+inflection")
        if base in texts:
            return texts[base]
        made = made_rule_parts(base)  # a row re-mined without the scored article
        return f"{made[1]} -> {made[2]}" if made else ""

    def text(rule: str) -> str:  # a combined rule: its rows' words, part by part
        return " + ".join(t for t in map(one, rule_parts(rule)) if t)

    return [
        {"rule": r, "row": text(r), "fired": f, "right": g}
        for r, (f, g) in sorted(agg.items(), key=lambda kv: (kv[1][1] - kv[1][0], kv[0]))
    ]


def _table_rows(lexicon: list[str] | None) -> tuple[list[Path], list[Row]]:
    """The given tables (else the defaults) and all their rows; bad tables fail in one line."""
    from .lexicon import read_tables

    files = [Path(f) for f in (lexicon or make_config(None, None).lexicons)]
    for i, f in enumerate(files):
        if any(same_file(f, g) for g in files[:i]):
            raise Fail(f"{f}: the same table is given twice")
    try:
        return files, list(read_tables(files))
    except LexiconError as e:
        raise Fail(str(e)) from None


@lexicon_app.command("stats")
def lexicon_stats(
    lexicon: LexOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Rows, distinct phrases and multi-word rows per source."""
    from .lexicon import Lexicon, stats

    files, rows = _table_rows(lexicon)
    d = {"files": [str(f) for f in files], "sources": stats(rows),
         "index_keys_with_inflections": len(Lexicon(rows))}
    if as_json:
        print(json.dumps(d, indent=2))
        return
    print("\n".join(f"file: {f}" for f in files))
    print("source\trows\tspun_phrases\tmulti_word")
    for src, v in sorted(stats(rows).items()):
        print(f"{src}\t{v['rows']}\t{v['spun_phrases']}\t{v['multi_word']}")
    print(f"index keys (with inflections): {d['index_keys_with_inflections']}")


@lexicon_app.command("show")
def lexicon_show(
    queries: Annotated[list[str], typer.Argument(
        help="A rule as edits name it (pairs.tsv:799), or a spun phrase", show_default=False)],
    lexicon: LexOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The rows behind a rule or a spun phrase: source, counts, the channel estimate and
    where each row was learnt (the pairs, the list's lines or the texts). Exit 1 when a
    query names no row."""
    from .lexicon import find_rows, rule_parts, table_names

    files, rows = _table_rows(lexicon)
    names = set(table_names(files))
    # A rule that combines rows (a.tsv:3+b.tsv:9, x then y) is looked up part by part, so
    # that a part no row answers is named, and counts.
    found = {q: find_rows(rows, q) for query in queries for q in rule_parts(query)}
    _print_lookup(found, names, as_json)
    if not all(found.values()):
        raise typer.Exit(1)


def _print_lookup(found: dict[str, list[tuple[Row, str]]], names: set[str], as_json: bool) -> None:
    from .lexicon import number

    def exact(x: float) -> int | float:  # as the table writes it: 4, not 4.0
        return int(x) if float(x).is_integer() else x

    if as_json:
        say(json.dumps([
            {"query": q, "rows": [{"rule": r.rule, "spun": r.spun, "original": r.original,
                                   "source": r.source, "count": exact(r.count),
                                   "total": exact(r.total),
                                   "seen": None if r.seen < 0 else exact(r.seen),
                                   "provenance": r.note, "inflected": form or None}
                                  for r, form in hits]}
            for q, hits in found.items()], indent=2, ensure_ascii=False))
    else:
        for q, hits in found.items():
            table = re.fullmatch(r"(.+):\d+(?:\+inflection)?", q.strip())
            if not hits and table and table[1] not in names:
                err.print(f"unspin: {q}: no table named {table[1]} is loaded (the tables: "
                          f"{', '.join(sorted(names))}; -l names others)", markup=False)
            elif not hits and q.strip() == "number":
                err.print("unspin: number: the decoder's own mechanism for numerals the spinner "
                          "broke (3.six -> 3.6), not a row of a table", markup=False)
            elif not hits:
                err.print(f"unspin: {q}: no row names it", markup=False)
            for r, form in hits:
                say(f"{r.rule}\t{r.spun} -> {r.original}\t{r.source}"
                    + (f"\t(inflected: {form})" if form else ""))
                seen = (f"; met {number(r.seen)} times in spun text, {r.count / r.seen:.0%} "
                        "of them as this spin" if r.seen > 0 else "")
                say(f"  {number(r.count)} of {number(r.total)}: P(spun | original) "
                    f"{r.count / r.total if r.total else 0:.2f}{seen}")
                if r.note:
                    say(f"  {r.note}")


@lexicon_app.command("check")
def lexicon_check(
    lexicon: LexOpt = None,
    max_originals: Annotated[
        int, typer.Option(min=1, metavar="N", help="Note phrases with more restorations")] = 8,
    strict: Annotated[bool, typer.Option("--strict", metavar="",
                                         help="Exit 1 on notes too")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Validate tables. Problems (duplicate, identity and case-only rows) exit 1; notes
    (cycles, phrases with many restorations: the spinner swaps words both ways, and the
    language model settles them in context) only with --strict."""
    from .lexicon import check

    files, rows = _table_rows(lexicon)
    found = check(rows, max_originals)
    problems = sum(f.problem for f in found)
    if as_json:
        say(json.dumps({"files": [str(f) for f in files], "rows": len(rows),
                        "problems": problems, "notes": len(found) - problems,
                        "findings": [{"kind": f.kind, "problem": f.problem, "text": f.text}
                                     for f in found]}, indent=2))
    else:
        for i, f in enumerate(found):
            if i == problems:  # the notes follow the problems
                err.print("notes (exit 1 only with --strict):", style="dim", markup=False)
            say(str(f))
    if not as_json:
        err.print(f"{len(rows)} rows in {len(files)} file(s): {problems} problem(s), "
                  f"{len(found) - problems} note(s)")
    if problems or (strict and found):
        raise typer.Exit(1)


@learn_app.command("raw")
def learn_raw_cmd(
    source: Annotated[
        Path, typer.Argument(help="Folder of spun *.txt without originals, or a .jsonl file")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="TABLE", help="Table to write")],
    lm: LmOpt = None,
    lexicon: LexOpt = None,
    iterations: Annotated[int, typer.Option(min=1, metavar="N", help="EM iterations")] = 2,
    jobs: JobsOpt = 1,
    field: FieldOpt = "text",
    errors: ErrOpt = "strict",
    group: LearnGroupOpt = None,
    max_parts: MaxPartsOpt = None,
) -> None:
    """Decipher substitutions from unpaired spun text (EM over the LM's choices).

    The texts are streamed, once for their vocabulary and once per iteration, so memory
    does not grow with the corpus.
    """

    from .learn import write_table
    from .pipeline import (
        MAX_PARTS,
        BadInput,
        jsonl_texts,
        learn_raw_stream,
        progress_bar,
        shared_repairer,
    )

    _check_errors(errors)
    files = sorted(source.glob("*.txt")) if source.is_dir() else None
    if files == []:
        raise Fail(f"{source}: no *.txt files found")
    if files is None and not source.is_file():
        raise Fail(f"{source}: no such folder or JSON Lines file")
    if files is None and source.suffix.lower() in (".txt", ".text"):
        raise Fail(f"{source}: a text file; learn raw reads a folder of *.txt files or a "
                   "JSON Lines file (put the text in a folder of its own)")
    _check_group(group, field, files is None, "a text file is one document", max_parts)

    def texts() -> Iterable[str]:
        if files is not None:
            return (read_input(str(p), errors) for p in files)
        return jsonl_texts(source, field, group, max_parts or MAX_PARTS)
    config = make_config(lm, lexicon)
    not_stdout(output, "a phrase table is a file; name one")
    check_new_output(output, [*(files or [source]), *config.lexicons])
    load(config, shared_repairer)  # the workers' loader; a bad model or table fails here
    try:
        with progress_bar(None, "docs") as update:  # on a terminal only
            rows, stats = learn_raw_stream(config, texts, jobs, iterations, update)
    except (InputError, BadInput) as e:
        raise Fail(str(e)) from None
    except OSError as e:
        raise Fail(f"{source}: cannot read ({e.strerror})") from None
    if not stats.docs:
        raise Fail(f"{source}: no texts")
    n = write_table(rows, output, "em-from-unpaired")
    err.print(
        f"{output}: {n} rows from {stats.docs:,} {'document' if group else 'text'}"
        f"{_s(stats.docs)} "
        f"({stats.words:,} words) in "
        f"{stats.seconds:.0f} s on {stats.workers} process(es)", markup=False,
    )


@learn_app.command("tortured")
def learn_tortured(
    path: Annotated[Path, typer.Argument(help="tortured_phrases.tsv (columns tortured, expected)")],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="TABLE", help="Table to write")],
) -> None:
    """Decompose the tortured-phrases list into word-level substitutions."""
    from .learn import mine_tortured, write_table
    from .lexicon import TORTURED_SOURCE

    not_stdout(output, "a phrase table is a file; name one")
    check_new_output(output, [path])
    try:
        rows = mine_tortured(path)
    except OSError as e:
        raise Fail(f"{path}: cannot read ({e.strerror})") from None
    except ValueError as e:
        raise Fail(str(e)) from None
    n = write_table(rows, output, TORTURED_SOURCE)
    err.print(f"{output}: {n} rows from {path}", markup=False)


@learn_app.command("pairs")
def learn_pairs(
    directory: Annotated[Path, typer.Argument(help="Folder of NNN.spun.txt / NNN.orig.txt")],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="TABLE", help="Table to write")],
) -> None:
    """Mine substitutions from spun/original pairs into a phrase table."""
    from .learn import (
        lone_originals,
        mine_pairs,
        pair_files,
        read_pairs,
        unpaired_spun,
        write_table,
    )
    from .lexicon import PAIRS_SOURCE

    if not directory.is_dir():
        raise Fail(f"{directory}: " + ("is a file; pass the folder of NNN.spun.txt / "
                                       "NNN.orig.txt pairs" if directory.exists()
                                       else "no such folder"))
    not_stdout(output, "a phrase table is a file; name one")
    check_new_output(output, [directory])
    pairs = read_pairs(directory)
    if not pairs:
        inner = directory / "pairs"
        found = any(orig is not None for _, _, orig in pair_files(inner))  # named, not read
        hint = f" (did you mean {inner}?)" if found else ""
        raise Fail(f"{directory}: no NNN.spun.txt / NNN.orig.txt pairs found{hint}")
    for f in unpaired_spun(directory):
        err.print(f"unspin: note: {f} has no .orig.txt beside it; left out", markup=False)
    for f in lone_originals(directory):
        err.print(f"unspin: note: {f} has no .spun.txt beside it; left out", markup=False)
    n = write_table(mine_pairs(pairs), output, PAIRS_SOURCE)
    err.print(f"{output}: {n} rows from {len(pairs)} pairs", markup=False)


def _batch(
    config: Config, path: str, output: str | None, jsonl: bool, field: str,
    edits_field: str | None, score_field: str | None, fix: bool, skip_bad: bool, jobs: int,
    resume: bool, errors: str, *, group: str | None = None, max_parts: int | None = None,
) -> Stats:
    """JSONL or folder runs for ``fix`` and ``score``: open, run, summarise on stderr."""
    from .pipeline import (
        MAX_PARTS,
        BadInput,
        DirJob,
        JsonlJob,
        completed_lines,
        progress_bar,
        run_dir,
        run_jsonl,
    )

    folder = None
    if jsonl:
        _check_jsonl_target(path, output, field, edits_field, score_field, errors, group)
    elif output:
        from .pipeline import check_dir_run

        try:  # the output folder and files too are checked before the models load (seconds)
            folder = check_dir_run(Path(path), Path(output))
        except BadInput as e:
            raise Fail(str(e)) from None
    # Fail early, in one line, on a missing model or a bad table; only the signature is kept
    # (with -j N the workers load their own).
    signature = load(config, repairs=True).signature
    try:
        if not jsonl:
            if not output or folder is None:
                raise Fail(f"{path}: is a folder; pass -o OUTDIR (or --jsonl for JSON Lines)")
            _note_left_out(folder, Path(output))
            with progress_bar(None, "files") as update:
                bar_total: list[int] = []
                stats = run_dir(DirJob(config, errors, skip_bad), Path(path), Path(output),
                                jobs, resume=resume, on_progress=update,
                                on_plan=bar_total.append, folder=folder)
        else:
            if resume and (not output or output == "-"):
                raise Fail("--resume needs -o OUT (a file): it counts the lines already "
                           "written there")
            job = JsonlJob(config, field, edits_field, score_field, fix, skip_bad, group,
                           max_parts or MAX_PARTS)
            skip = completed_lines(output) if resume and output else 0
            with contextlib.ExitStack() as files:  # each file opened is closed, whatever fails
                src = sys.stdin.buffer if path == "-" else files.enter_context(open(path, "rb"))
                total = None if path == "-" else Path(path).stat().st_size
                # Opened to append: a run that fails before its first line (a bad line 1, a
                # model that will not load) leaves a file it would replace as it was.
                dst = sys.stdout.buffer if not output or output == "-" else files.enter_context(
                    open(output, "ab"))
                emptied = not resume and dst is not sys.stdout.buffer and stat.S_ISREG(
                    os.fstat(dst.fileno()).st_mode)
                with progress_bar(total, "bytes") as update:
                    stats = run_jsonl(job, src, dst, jobs, skip=skip, replace=emptied,
                                      on_progress=update)
    except BadInput as e:
        raise Fail(str(e)) from None
    except BrokenPipeError:
        raise  # a reader such as head has all it wants: a normal end (main)
    except OSError as e:
        # An error that names no file is the input's, unless only a write could have met it.
        full = e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
        name = (output if output and output != "-" else "standard output") if full else path
        raise Fail(os_error_line(e, name)) from None
    docs = (f"{stats.docs:,} record{_s(stats.docs)} in {stats.groups:,} "
            f"document{_s(stats.groups)}" if group is not None else f"{stats.docs:,} docs")
    err.print(
        f"{docs}, {stats.edits:,} edits, {stats.words / max(stats.docs, 1):,.0f} "
        f"words/{'record' if group is not None else 'doc'}, "
        f"{stats.words_per_second:,.0f} words/s on {stats.workers} process(es)"
        + (f", {stats.bad:,} bad skipped" if stats.bad else "")
        + (f", {stats.resumed:,} already done" if stats.resumed else "")
        + f"; {signature}",
        style="dim", markup=False,
    )
    for why in stats.skipped:
        err.print(f"unspin: note: skipped {why}", markup=False)
    if stats.bad > len(stats.skipped):
        err.print(f"unspin: note: and {stats.bad - len(stats.skipped):,} more bad "
                  f"{'lines' if jsonl else 'files'} skipped", markup=False)
    if group is not None and stats.docs and not stats.grouped:
        err.print(f"unspin: note: no record has a {group!r} field (or every one is null): each "
                  "record was a document alone", markup=False)
    return stats


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _check_jsonl_target(
    path: str, output: str | None, field: str, edits_field: str | None,
    score_field: str | None, errors: str, group: str | None = None,
) -> None:
    """Refuse, before any work, JSON Lines runs that would destroy data or ignore an option."""
    if path != "-" and Path(path).is_dir():
        raise Fail(f"{path}: is a folder; --jsonl reads one JSON Lines file (a folder of *.txt "
                   "files is given without --jsonl)")
    if errors != "strict":
        raise Fail("--errors applies to text files; JSON Lines must be UTF-8 (pass --skip-bad "
                   "to copy lines that are not through)")
    for opt, name in (("--field", field), ("--edits-field", edits_field),
                      ("--score-field", score_field)):
        if name is not None and not name:
            raise Fail(f"{opt} needs a field name, not an empty one")
    for opt, name in (("--edits-field", edits_field), ("--score-field", score_field)):
        if name == field:
            raise Fail(f"{opt} {name} is the text field itself; name another field")
        if name is not None and name == group:
            raise Fail(f"{opt} {name} would overwrite the --group field; name another field")
    if not output or output == "-":
        return
    check_output(output)  # a folder, no folder, not writable (the input: below, for stdin too)
    if is_input(output, path):
        raise Fail(f"{output}: is the input; write the records to another file")


@app.command()
def score(
    paths: Annotated[list[str], typer.Argument(help="Files, or - for stdin")],
    as_json: Annotated[bool, typer.Option("--json", metavar="",
                                          help="One JSON object per document")] = False,
    threshold: Annotated[
        float | None, typer.Option("--threshold", metavar="0..1",
                                   help="Exit 1 if any document scores >= T")
    ] = None,
    jsonl: Annotated[
        bool, typer.Option("--jsonl", metavar="",
                           help="Inputs are JSON Lines: add the score to each record")
    ] = False,
    field: FieldOpt = "text",
    score_field: Annotated[str, typer.Option(
        "--score-field", metavar="NAME", help="JSONL: the field the score goes in")] = "spin_score",
    output: Annotated[str | None, typer.Option("--output", "-o", metavar="FILE",
                                               help="Output file (default: stdout)")] = None,
    skip_bad: SkipBadOpt = False,
    jobs: JobsOpt = 1,
    lm: LmOpt = None,
    lexicon: LexOpt = None,
    map_path: MapOpt = None,
    errors: ErrOpt = "strict",
    group: ScoreGroupOpt = None,
    max_parts: MaxPartsOpt = None,
) -> None:
    """Probability that each document is spun; with --threshold, a check that exits 1."""
    from .score import spin_score
    from .text import count_words

    _check_errors(errors)
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise Fail("--threshold must be between 0 and 1 (a spin probability)")
    if jsonl and as_json:
        raise Fail("--json writes one object per document; with --jsonl the score goes into "
                   "each record (--score-field)")
    _check_group(group, field, jsonl, max_parts=max_parts)
    if not jsonl:
        _check_record_fields((("--field", field != "text"),
                              ("--score-field", score_field != "spin_score")))
    if paths.count("-") > 1:
        raise Fail("- (standard input) is given more than once; it can be read only once")
    config = make_config(lm, lexicon, map_path=map_path, output=output)
    top: float | None = None  # the highest score; None while no document is scored
    if jsonl:
        if output and len(paths) > 1:
            raise Fail("-o takes the records of one input; score one JSONL file per run")
        for p in paths:
            stats = _batch(config, p, output, True, field, None, score_field, False, skip_bad,
                           jobs, False, errors, group=group, max_parts=max_parts)
            if stats.docs:
                top = max(top or 0.0, stats.max_score)
    else:
        if jobs > 1:
            raise Fail("-j runs JSON Lines records in parallel; text files are scored in one "
                       "process (put them in a JSONL file, a record each, and pass --jsonl)")
        check_new_output(None if output == "-" else output, paths)
        if not skip_bad:  # every file readable and UTF-8 before the first score is printed
            for p in paths:
                check_readable(p, errors)
        r = load(config)
        lines: list[str] = []
        bad = 0
        for p in paths:
            try:
                text = read_input(p, errors)
            except InputError as e:
                if not skip_bad:
                    raise
                bad += 1
                err.print(f"unspin: note: {e}; skipped", markup=False)
                continue
            _refuse_records(p, text, "score each record's text field (as prose the whole "
                            "records, keys and ids too, would be scored)")
            n = count_words(text)
            res = r.fix_and_explain(text)
            s = spin_score(res, n)
            top = s if top is None else max(top, s)
            line = (json.dumps({"path": p, "spin_score": round(s, 4), "words": n,
                                "edits": len(res.edits), "signature": r.signature})
                    if as_json else f"{s:.4f}\t{p}")
            if output is None or output == "-":
                try:
                    print(line, flush=True)
                except BrokenPipeError:
                    if threshold is None:
                        raise  # nothing more to tell: a normal end (main)
                    reader_left()  # the rest is scored for the status --threshold promises
            else:
                lines.append(line)
        if output is not None and output != "-":
            write_output(output, "".join(x + "\n" for x in lines))
        if bad:
            err.print(f"{len(paths) - bad} file{_s(len(paths) - bad)} scored, {bad} bad "
                      "skipped", style="dim", markup=False)
    if threshold is not None and top is not None and top >= threshold:
        raise typer.Exit(1)


@app.command("score-eval")
def score_eval(
    dev: Annotated[Path, typer.Argument(help="A folder with pairs/, unpaired/ and clean/")],
    threshold: Annotated[float, typer.Option("--threshold", metavar="0..1")] = 0.5,
    as_json: JsonOpt = False,
    per_doc: Annotated[bool, typer.Option("--per-doc", metavar="",
                                          help="List every document's score")] = False,
    lm: LmOpt = None,
    lexicon: LexOpt = None,
) -> None:
    """ROC AUC, precision and recall of the spin score: spun vs clean, tables left one out."""
    from .evaluate import loo_rows
    from .lexicon import Lexicon
    from .score import evaluate_scores

    if not 0.0 <= threshold <= 1.0:
        raise Fail("--threshold must be between 0 and 1 (a spin probability)")
    _check_dev(dev)
    config = make_config(lm, lexicon)
    base = load(config)
    rows, mined = loo_rows(config.lexicons)

    def repairer_for(lex: Lexicon) -> object:
        return base.with_lexicon(lex).fix_and_explain

    rep = evaluate_scores(dev, repairer_for, rows, threshold, mined)  # type: ignore[arg-type]
    summary = _json_safe({**rep.summary(), "signature": base.signature})
    if as_json:
        out: dict[str, object] = {"summary": summary}
        if per_doc:
            out["spun"] = dict(rep.pos)
            out["clean"] = dict(rep.neg)
        print(json.dumps(out, indent=2, allow_nan=False))
        return
    for k, v in summary.items():
        print(f"{k}: {v}")
    if per_doc:
        for label, docs in (("spun", rep.pos), ("clean", rep.neg)):
            for name, s in docs:
                print(f"{label}\t{s:.4f}\t{name}")


@app.command("apply")
def apply_edits(
    edits_json: Annotated[
        str, typer.Argument(help="Edit list from `unspin diff --format json` (edits removed ok)")
    ],
    path: Annotated[
        str | None, typer.Argument(help="The text they were made for (default: its 'file')")
    ] = None,
    output: Annotated[
        str | None, typer.Option("--output", "-o", metavar="FILE",
                                 help="Output file (default: stdout)")
    ] = None,
    in_place: InPlaceOpt = False,
    backup_suffix: BackupOpt = DEFAULT_BACKUP,
    ignore_hash: Annotated[
        bool, typer.Option("--ignore-hash", metavar="", help="Apply although text_sha256 differs")
    ] = False,
    errors: ErrOpt = "strict",
) -> None:
    """Apply a reviewed edit list to its text; refuse edits whose 'before' does not match."""
    from . import render
    from .edits import apply

    _check_errors(errors)
    try:
        edits, sha, name = render.from_json(read_input(edits_json, option=False))
    except InputError:
        raise  # names the file already
    except ValueError as e:
        raise Fail(f"{edits_json}: {e}") from None
    found: str | None = None  # the text, when found beside the list
    if path is None and name and sha and edits_json != "-" and not os.path.lexists(name):
        # The list names its text as diff was given it, from diff's folder; run from another
        # folder, the file of that name beside the list is the text when its hash matches.
        beside = Path(edits_json).parent / Path(name).name
        try:
            candidate = read_input(str(beside), errors) if beside.is_file() else None
        except InputError:
            candidate = None  # not the text: the name as given is reported below
        if candidate is not None and render.text_sha256(candidate) == sha:
            name, found = str(beside), candidate
    path = path or name
    if not path:
        raise Fail(f"{edits_json}: names no file; pass the text as the second argument")
    check_target(path, output, in_place, backup_suffix, errors, backup_free=False)
    check_new_output(output, [edits_json])  # the reviewed list is an input too
    try:
        text = found if found is not None else read_input(path, errors)
    except InputError as e:
        if path != name or os.path.lexists(path):
            raise  # found and read: its encoding, say, is the problem, not where it is
        raise Fail(f"{e}; the edit list names this file: pass the text as the second "
                   "argument") from None
    if sha and not ignore_hash and render.text_sha256(text) != sha:
        raise Fail(
            f"{path}: is not the text {edits_json} was made for (text_sha256 differs); "
            "re-run unspin diff --format json, or pass --ignore-hash"
        )
    try:
        fixed = apply(text, edits)
    except EditMismatch as e:
        raise Fail(f"{edits_json} does not fit {path}: {e}") from None
    names = other_names(path) if in_place else 0
    written = write_text(path, output, in_place, backup_suffix, fixed, errors,
                         changed=fixed != text, read=text)
    if in_place and not written:
        err.print(f"no change: {path} left as it was", style="dim", markup=False)
    elif in_place or output not in (None, "-"):  # on stdout the text is the whole answer
        err.print(f"{len(edits):,} edit(s) applied", style="dim")
    _note_other_names(path, names if written else 0)


def interactive_terminal() -> bool:
    """Whether a terminal UI can run: keys come from stdin, textual draws on stderr."""
    err = sys.__stderr__
    return sys.stdin is not None and sys.stdin.isatty() and err is not None and err.isatty()


@app.command()
def review(
    paths: Annotated[
        list[str], typer.Argument(help="Input file(s), reviewed one after another")
    ],
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", metavar="FILE",
                     help="Where to write one file's review (default FILE.reviewed.EXT; - stdout)"),
    ] = None,
    in_place: InPlaceOpt = False,
    backup_suffix: BackupOpt = DEFAULT_BACKUP,
    accept_above: Annotated[
        float, typer.Option("--accept-above", metavar="0..1",
                            help="Confidence that A accepts at or above")
    ] = 0.9,
    again: Annotated[
        bool, typer.Option("--again", metavar="",
                           help="Review files reviewed already (FILE.reviewed.EXT "
                                           "exists), replacing that output")
    ] = False,
    lm: LmOpt = None,
    lexicon: LexOpt = None,
    map_path: MapOpt = None,
    min_confidence: ConfOpt = None,
    bias: BiasOpt = None,
    passes: PassesOpt = 1,
    errors: ErrOpt = "strict",
) -> None:
    """Step through the edits in a terminal UI and write the text you accepted.

    Keys: a accept, r reject, e edit the replacement (Enter keeps it, Esc cancels),
    u undo, A accept every pending edit with confidence >= --accept-above, n/p move,
    q or w write and quit, ctrl+q quit without writing. Edits not accepted are left out.

    Output goes to FILE.reviewed.EXT (article.txt -> article.reviewed.txt) unless -o OUT,
    -o - (stdout, after the UI closes) or --in-place (FILE, old one kept as FILE.orig).
    Several files are reviewed one after another, each written when you leave it with q;
    s skips a file (nothing written for it), ctrl+q stops there (exit 1), leaving that file
    and the ones after it unwritten. A file
    whose review output (or, with --in-place, backup) exists is skipped, and so are those
    outputs themselves, so the same command resumes a batch; --again reviews such files anew.
    """
    from . import render
    from .review import ReviewApp

    _check_errors(errors)
    if "-" in paths:
        raise Fail("review needs a file: the terminal is for the keys")
    if not 0.0 <= accept_above <= 1.0:
        raise Fail("--accept-above must be between 0 and 1")
    if in_place and output is not None:
        raise Fail("--in-place rewrites the input; drop -o, or drop --in-place")
    if in_place:  # before the backups are looked for: "" would find the file itself
        _check_backup_suffix(backup_suffix)
    if output is not None and len(paths) > 1:
        raise Fail("-o names the output of one file; several files are written each to "
                   "FILE.reviewed.EXT (or --in-place)")
    for i, p in enumerate(paths):
        if any(same_file(p, q) for q in paths[:i]):
            raise Fail(f"{p}: given twice; review each file once")
    todo = []
    for p in paths:
        source = render.review_source(p)
        done = (_shown_backup(p, backup_suffix) if in_place else None if output
                else render.reviewed_name(p))
        if source is not None and output is None:
            err.print(f"{p}: the review of {source}; skipped (to review it in turn, give it "
                      "alone with -o OUT)", style="dim", markup=False)
        elif done is not None and os.path.lexists(done) and not (again and not in_place):
            err.print(f"{p}: reviewed already ({done} exists); skipped"
                      + (" (move the backup away to review it again)" if in_place
                         else " (--again reviews it anew)"),
                      style="dim", markup=False)
        else:
            todo.append(p)
    if not todo:
        err.print("nothing to review", style="dim")
        return
    # Every text read, and every output checked, before the first session: a missing file
    # or an output that cannot be written is refused before the editor decides anything.
    texts = [read_input(p, errors) for p in todo]
    dests = [None if in_place else (output or render.reviewed_name(p)) for p in todo]
    for p, dest in zip(todo, dests, strict=True):
        check_target(p, dest, in_place, backup_suffix, errors)
        if dest not in (None, "-"):
            check_new_output(dest, todo)  # no review written over a file still to review
    if not interactive_terminal():
        raise Fail("review needs a terminal for its keys (stdin) and screen (stderr); without "
                   "one, review with 'unspin diff -f json' and 'unspin apply'")
    repairer = load(make_config(lm, lexicon, min_confidence, bias, passes, map_path),
                    repairs=True)
    n = len(todo)
    done_files = written = skipped = 0
    for i, (path, dest) in enumerate(zip(todo, dests, strict=True)):
        place = f"({i + 1} of {n}) " if n > 1 else ""
        if i:
            # Read again: the file may have changed while the earlier ones were reviewed.
            err.print(f"repairing {place}{path} ...", style="dim", markup=False)
            try:
                texts[i] = read_input(path, errors)
            except InputError as e:
                raise Fail(f"{e}; {written} of {n} files written before it") from None
        text = texts[i]
        result = repairer.fix_and_explain(text)

        def write(reviewed: str, path: str = path, dest: str | None = dest,
                  text: str = text) -> None:
            write_text(path, dest, in_place, backup_suffix, reviewed, errors,
                       changed=reviewed != text, read=text)

        to_stdout = dest == "-"
        app_ = ReviewApp(result, place + path, accept_above=accept_above,
                         write=None if to_stdout else write, batch=len(paths) > 1)
        reviewed = app_.run()
        if app_.skipped:
            skipped += 1
            err.print(f"{path}: skipped; nothing written for it", style="dim", markup=False)
            continue
        if reviewed is None:
            tally = (f"; {i} of {n} files before it: {done_files} reviewed ({written} written), "
                     f"{skipped} skipped" if n > 1 else "")
            err.print(f"unspin: review abandoned at {path}; nothing written for it{tally}",
                      markup=False)
            raise typer.Exit(1)
        done_files += 1
        if to_stdout:
            write(reviewed)
        elif in_place and reviewed == text:
            err.print(f"no change accepted: {path} left as it was", style="dim", markup=False)
        else:
            written += 1
            err.print(f"{path if in_place else dest}: written", style="dim", markup=False)


@app.command()
def bench(
    paths: Annotated[
        list[str] | None,
        typer.Argument(help="Spun text files or folders (default: ../shared/dev spun news)"),
    ] = None,
    as_json: JsonOpt = False,
    plot: Annotated[
        str | None, typer.Option("--plot", metavar="PNG",
                                 help="Write a time/memory PNG (implies --scaling)")
    ] = None,
    words: Annotated[int, typer.Option("--words", metavar="N", min=1,
                                       help="Input size of the main run")] = (
        100_000
    ),
    scaling: Annotated[
        bool, typer.Option("--scaling", metavar="",
                           help="Also run 1k, 10k, 100k, 1M words, each fresh")
    ] = False,
    max_words: Annotated[
        int, typer.Option("--max-words", metavar="N", min=1,
                          help="Cap the main run's and the scaling sizes (quick runs)")
    ] = 1_000_000,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", metavar="N", min=1,
                          help="Also time the batch path on N processes")
    ] = 1,
    lm: LmOpt = None,
    lexicon: LexOpt = None,
    map_path: MapOpt = None,
) -> None:
    """Words per second, load time, ratio to one plain KenLM pass, peak RSS, scaling."""
    from . import bench as b

    config = make_config(lm, lexicon, map_path=map_path)
    if plot is not None:  # before minutes of timing, not after
        check_new_output(plot, paths or [], option="--plot")
        if Path(plot).suffix.lower() not in b.PLOT_FORMATS:
            raise Fail(f"--plot {plot}: the picture's format comes from its name: "
                       f"end it in {', '.join(b.PLOT_FORMATS)}")
    load(config)  # one-line error on a missing model before any timing
    sizes = [n for n in b.SCALING_SIZES if n <= max_words] if scaling or plot else []
    if (scaling or plot) and max_words not in sizes and max_words < b.SCALING_SIZES[-1]:
        sizes.append(max_words)
    try:
        report = b.run(config, paths or [], min(words, max_words), sizes, jobs)
    except (OSError, ValueError) as e:
        raise Fail(f"bench: {e}") from None
    if plot:
        b.plot(report, plot)
        err.print(f"{plot}: written", style="dim", markup=False)
    print(json.dumps(report, indent=2) if as_json else b.format_report(report))


@app.command()
def spin(
    path: Annotated[str, typer.Argument(help="Clean text file, - for stdin, or a folder")] = "-",
    seed: Annotated[int, typer.Option("--seed", metavar="N",
                                      help="Random seed (same seed, same output)")] = 0,
    rate: Annotated[
        float, typer.Option("--rate", metavar="X", min=0.0,
                            help="Scale every row's P(spun | original)")
    ] = 1.0,
    output: Annotated[str | None, typer.Option("--output", "-o", metavar="FILE",
                                               help="Output file (default: stdout)")] = None,
    label: Annotated[bool, typer.Option("--label", metavar="",
                                        help="Start with a SYNTHETIC header")] = False,
    jsonl: Annotated[
        bool, typer.Option("--jsonl", metavar="",
                           help='One {"spun", "orig", "synthetic": true} per file')
    ] = False,
    lexicon: LexOpt = None,
) -> None:
    """Make SYNTHETIC spun text by running the phrase tables' channel forwards (not for claims)."""
    import random

    from . import default_lexicons
    from .spin import LABEL, Channel
    from .spin import spin as spin_text

    if not math.isfinite(rate):
        raise Fail("--rate must be a finite number (it scales every row's probability)")
    if label and jsonl:
        raise Fail('--label heads text output; JSON Lines records say "synthetic": true '
                   "themselves, and a header line would not be JSON")
    files = tuple(lexicon) if lexicon else default_lexicons()
    refuse_read_files(output, files)
    try:
        channel = Channel.load(files)
    except LexiconError as e:
        raise Fail(str(e)) from None
    if Path(path).is_dir():
        if not jsonl:
            raise Fail(f"{path}: is a folder; pass --jsonl to get one record per file")
        from .pipeline import text_files

        # The files a folder run would repair (fix DIR -o OUTDIR): *.txt at any depth.
        sources = [(str(p), read_input(str(p), option=False)) for p in text_files(Path(path))]
        if not sources:
            raise Fail(f"{path}: no *.txt files found in it or below")
    else:
        sources = [(path, read_input(path, option=False))]
    rng = random.Random(seed)
    parts = [LABEL + f" seed={seed} rate={rate:g}\n"] if label else []
    for name, text in sources:
        s = spin_text(text, channel, rate=rate, rng=rng)
        if jsonl:
            rec = {"spun": s.text, "orig": s.orig, "synthetic": True, "source": name,
                   "seed": seed, "rate": rate}
            parts.append(json_line(rec) + "\n")
        else:
            parts.append(s.text)
    write_output(output, "".join(parts), "strict", source=path)


@app.command()
def calibrate(
    dev: Annotated[Path, typer.Argument(help="A folder with pairs/ (as ../shared/dev)")],
    as_json: JsonOpt = False,
    lenient: Annotated[
        bool, typer.Option("--lenient", metavar="",
                           help="Right = its words occur anywhere in the original")
    ] = False,
    with_clean: Annotated[
        bool, typer.Option("--with-clean/--pairs-only", metavar="",
                           help="Also learn from edits on clean/ "
                           "(all wrong)")
    ] = True,
    method: Annotated[
        str, typer.Option("--method", metavar="METHOD",
                          help="rescorer, platt or isotonic: the map to save")
    ] = "rescorer",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="MAP",
                                  help="Where to write the fitted map")
    ] = None,
    save: Annotated[
        bool, typer.Option(metavar="",
                           help="Write the map fitted on all pairs (to -o, else the default "
                                "map that every repair uses)")
    ] = False,
    synthetic: SynthOpt = None,
    lm: LmOpt = None,
    lexicon: LexOpt = None,
) -> None:
    """Reliability table of edit confidence (tables left one article out); fit and save a map."""
    from . import calibrate as cal
    from .evaluate import loo_rows
    from .lexicon import Lexicon

    not_stdout(output, "a map is a file; name one")
    _check_dev(dev)
    if method not in cal.FITTERS:
        raise Fail(f"--method must be one of {', '.join(cal.FITTERS)}")
    # Fit on raw confidences: an existing map must not calibrate its own training data. A
    # re-scorer judges what the decoder proposes when it has a re-scorer behind it.
    config = make_config(lm, lexicon).raw(settings_for(method))
    target = output or cal.DEFAULT_OUT
    save = save or output is not None  # a measurement unless asked: the default map stays
    if save:  # the map and the model file beside it; checked before minutes of work
        if Path(target).suffix == cal.MODEL_SUFFIX:
            raise Fail(f"{target}: the map's model is written beside it as "
                       f"NAME{cal.MODEL_SUFFIX}; name the map NAME.json")
        inputs: list[Path | str] = [*config.lexicons, dev / "pairs", dev / "clean"]
        inputs += [src] if (src := synthetic_source(synthetic)) else []
        for dest in (Path(target), Path(target).with_suffix(cal.MODEL_SUFFIX)):
            check_new_output(dest, inputs)
            if dest.exists() and not dest.is_file():  # renamed over, a device would go
                raise Fail(f"{dest}: is not a regular file; a map is saved as two files, "
                           f"MAP and MAP{cal.MODEL_SUFFIX}, beside each other")
    base = load(config)
    rows, mined = loo_rows(config.lexicons)
    learn_from = cal.leave_one_out if mined else None

    def raw_for(lex: Lexicon) -> cal.Raw:
        return base.with_lexicon(lex).raw

    texts, synth = synthetic_texts(synthetic, method)
    runs = cal.dev_runs(dev, raw_for, rows, with_clean, learn_from, synthetic=texts)
    fit_on = cal.raw_results(dev, raw_for, rows, with_clean, learn_from, held_out=(),
                             synthetic=texts)
    res = cal.calibrate(cal.judge(runs.scored), lenient,
                        [cal.judge(t) for t in runs.training], cal.judge(fit_on), runs.folds)
    if method in res.unfit:
        raise Fail(f"{dev}: cannot fit a {method} map on these edits ({res.unfit[method]}); "
                   "--method isotonic or platt needs fewer")
    meta = {"signature": base.signature, "check": "lenient" if lenient else "strict",
            "edits": res.n, "with_clean": with_clean, "fitted_on": cal.dev_digest(dev),
            "synthetic": synth}
    if save and res.n:
        cal.save_map(res.fits[method], target, meta)
    if as_json:
        out = {**meta, "accuracy": round(res.accuracy, 4), "before": cal.table_dict(res.before),
               "after_cross_validated": {m: {**cal.table_dict(t), "roc_auc": round(res.auc[m], 4)}
                                         for m, t in res.after.items()},
               "maps": {m: f.to_dict() for m, f in res.fits.items()},
               "not_fitted": res.unfit,
               "saved": str(target) if save and res.n else None}
        print(json.dumps(out, indent=2))
        return
    print(f"{res.n} edits on {dev}, {res.accuracy:.3f} right ({meta['check']} check); "
          f"{base.signature}")
    print(cal.format_table("\nraw confidence", res.before))
    for m, t in res.after.items():
        print(cal.format_table(f"\n{m}, {cal.FOLDS}-fold cross-validated by article", t))
        print(f"ROC AUC, right against wrong edits: {res.auc[m]:.3f}")
    for m, why in res.unfit.items():
        print(f"\n{m}: not fitted ({why})")
    if save and res.n:
        err.print(f"{target}: {method} map written", style="dim", markup=False)


def _terminate(signum: int, frame: object) -> None:
    # Unwind like Ctrl-C so temporary files are removed and no partial output is left.
    raise KeyboardInterrupt


EXIT_DEADLINE = 10.0  # seconds an interrupted run may take to exit before it is ended


def _interrupted(deadline: float = EXIT_DEADLINE) -> None:
    """Say so and exit 130. By now the unwinding has removed temporary files and closed the
    outputs, and a clean exit follows; it must not hang. Python's exit joins the worker
    pool's threads, and a worker stopped while it sent a result leaves its pipe waiting for
    ever for the rest (seen once in 27 SIGTERMs of a ``-j 2`` run), so a timer ends the
    process after ``deadline`` seconds, and a second signal ends it at once."""
    import threading

    def end(*_: object) -> None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError, AttributeError):
                pass
        os._exit(130)

    for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", signal.SIGTERM)):
        signal.signal(sig, end)
    timer = threading.Timer(deadline, end)
    timer.daemon = True
    timer.start()
    if any(t.name == "unspin-reader" and t.is_alive() for t in threading.enumerate()):
        # A JSON Lines reader blocked on a pipe holds stdin's lock: Python's exit would
        # abort waiting for it ("Fatal Python error: _enter_buffered_busy", status -6).
        try:
            err.print("unspin: interrupted", markup=False)
        except OSError:
            pass
        end()
    _fail("interrupted", 130)


def main() -> None:
    """The ``unspin`` script: every failure one line on stderr, exit codes as documented
    (docs/guarantees.md): 0 done (also when a reader such as ``head`` closes the pipe early),
    1 a check found something or a review was abandoned, 2 bad input or usage, 130
    interrupted."""
    ex = _click_exceptions()
    stand_in_for_closed_streams()  # started with >&- or <&-: a one-line failure on use
    # One thread per process (the re-scorer's trees would start an OpenMP team for every
    # document): scale with -j, which spawns workers that inherit this.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # A run killed outright (SIGKILL) cannot clean up its worker pool; multiprocessing's
    # resource tracker does, and would add a two-line Python warning to the run's stderr
    # after the shell has moved on. The tracker starts with the pool, reading this.
    quiet = "ignore:resource_tracker:UserWarning"
    if quiet not in os.environ.get("PYTHONWARNINGS", ""):
        os.environ["PYTHONWARNINGS"] = ",".join(
            w for w in (os.environ.get("PYTHONWARNINGS"), quiet) if w)
    signal.signal(signal.SIGTERM, _terminate)
    # A closed terminal (or kill -HUP) unwinds as SIGTERM does, the review UI leaving its
    # screen mode; unless the run was started to outlive its terminal (nohup: ignored).
    hup = getattr(signal, "SIGHUP", None)
    if hup is not None and signal.getsignal(hup) is not signal.SIG_IGN:
        signal.signal(hup, _terminate)
    try:
        # Not standalone: usage errors and interrupts come back here instead of being
        # drawn by click as boxes or swallowed.
        code = app(standalone_mode=False)
    except Fail as e:
        _fail(str(e), e.code)
    except (InputError, ModelError, LexiconError, EditMismatch) as e:
        _fail(str(e))
    except ex.UsageError as e:
        if type(e).__name__ == "NoArgsIsHelpError":  # a bare group: its help, as click does
            print(e.format_message())
            sys.exit(0)
        where = e.ctx.command_path if e.ctx is not None else "unspin"
        _fail(f"{e.format_message()} (see '{where} --help')", e.exit_code)
    except ex.ClickException as e:
        _fail(e.format_message(), e.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        _interrupted()
    except SystemExit as e:
        # click exits 1 when stdout is a closed pipe; for us that is a normal end.
        ctx = e.__context__
        if isinstance(ctx, OSError) and ctx.errno == errno.EPIPE:
            sys.exit(0)
        raise
    except BrokenPipeError:
        sys.exit(0)
    except OSError as e:  # a write that failed: no such folder, no space, no permission
        _fail(os_error_line(e))  # a file's error names the file
    if code == 130:  # click turns Ctrl-C (and SIGTERM, SIGHUP, above) into exit code 130
        _interrupted()
    sys.exit(code if isinstance(code, int) else 0)


def _click_exceptions() -> Any:
    """click's exception classes: typer 0.2x ships its own copy of click, earlier ones use
    the click package."""
    try:
        from typer._click import exceptions
    except ImportError:
        from click import exceptions  # type: ignore[no-redef]
    return exceptions


def _fail(message: str, code: int = 2) -> None:
    """The one place a failure is told: one line, whatever a file name in it holds (a line
    break or an escape sequence is shown, not obeyed)."""
    from .render import visible

    try:
        err.print(f"unspin: {visible(message, breaks=False)}", markup=False)
    except OSError:
        pass  # stderr gone (a hung-up terminal, a full disk): the exit code still tells
    sys.exit(code)


if __name__ == "__main__":
    main()
