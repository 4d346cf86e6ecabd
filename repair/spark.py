"""Run unspin on Apache Spark: repair a DataFrame column on the executors.

Each executor's Python worker loads one :class:`~repair.Repairer` the first time it sees a
row, through :func:`repair.pipeline.shared_repairer` (an ``lru_cache`` keyed by the
:class:`~repair.Config`), and keeps it for every later partition: the model is memory-mapped
once per worker process, never shipped. Executors need the package installed in the Python
their workers run (``PYSPARK_PYTHON``, or ``spark.pyspark.python``), and the model and phrase
tables at the same paths as the driver (a shared file system, or the same image): relative
paths are made absolute on the driver by :func:`resolve`.

The three lines a data team needs::

    from repair import Config
    from repair.spark import repair_column
    df = repair_column(df, "text", "text_fixed", Config(lm="/models/news.binary"))

Requires ``pyspark`` (the ``dev`` extra) and Java 17.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from . import Config
from .lm import locate

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

_EDIT_FIELDS = (
    ("start", "int"),
    ("end", "int"),
    ("before", "string"),
    ("after", "string"),
    ("rule", "string"),
    ("gain", "double"),
    ("confidence", "double"),
)


def resolve(config: Config | None) -> Config:
    """Pin every path of ``config`` (models, tables, calibration map, disabled list) to an
    absolute one on the driver, so executors, whose working folder is their own, need no env.

    >>> import os
    >>> c = resolve(Config(lm=os.__file__, news_lm="news.binary", lexicons=(),
    ...                    calibration=None, disabled="off.tsv"))  # lm: any file does here
    >>> c.news_lm == os.path.join(os.getcwd(), "news.binary"), c.calibration
    (True, None)
    """
    c = config or Config()
    return replace(
        c,
        lm=_absolute(locate(c.lm)),
        news_lm=_absolute(c.news_lm),
        lexicons=tuple(_absolute(p) for p in c.lexicons),
        calibration=_absolute(c.calibration),
        disabled=_absolute(c.disabled),
    )


@overload
def _absolute(path: str | Path) -> str: ...
@overload
def _absolute(path: None) -> None: ...
def _absolute(path: str | Path | None) -> str | None:
    # Absolute, not resolved: a symlink stays as named, so a default path still equals the
    # default (the Repairer compares them to decide whether the default map applies).
    return None if path is None else os.path.abspath(path)


def _edit_row(e: Any) -> tuple[Any, ...]:
    """An edit as the struct of ``_EDIT_FIELDS``."""
    return tuple(getattr(e, f) for f, _ in _EDIT_FIELDS)


def _repair_parts(config: Config, with_edits: bool, parts: list[str | None] | None) -> Any:
    # An array column: one document's parts (paragraphs), repaired together; null parts
    # stay null and are left out of the document.
    from .pipeline import shared_repairer

    if parts is None:
        return None
    texts = [p for p in parts if p is not None]
    results = iter(shared_repairer(config).fix_parts(texts))
    done = [None if p is None else next(results) for p in parts]
    if not with_edits:
        return [None if r is None else r.fixed for r in done]
    return ([None if r is None else r.fixed for r in done],
            [None if r is None else [_edit_row(e) for e in r.edits] for r in done])


def _repair_one(config: Config, with_edits: bool, text: str | None) -> Any:
    # Runs on the executors: the cached loader gives one Repairer per worker process.
    from .pipeline import shared_repairer

    if text is None:
        return None
    result = shared_repairer(config).fix_and_explain(text)
    if not with_edits:
        return result.fixed
    return (result.fixed, [_edit_row(e) for e in result.edits])


def repair_column(
    df: DataFrame,
    input_col: str,
    output_col: str,
    config: Config | None = None,
    edits_col: str | None = None,
) -> DataFrame:
    """Return ``df`` with ``output_col`` = repaired ``input_col`` (nulls stay null).

    With ``edits_col``, the edits are added too, as an array of structs with the fields of
    :class:`~repair.Edit`. The result is identical to :meth:`Repairer.fix` row by row.

    An ``input_col`` of type ``array<string>`` holds the parts of one document (its
    paragraphs, say, gathered with ``collect_list`` over an ordered window): they are
    repaired together, as :meth:`Repairer.fix_parts` does, so a short paragraph is judged
    within its article. ``output_col`` is then an array of the repaired parts, and
    ``edits_col`` an array of each part's edits, offsets into that part.
    """
    from functools import partial

    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, StringType

    c = resolve(config)
    # The column's type as Spark resolves the name (a field of a struct, a quoted name).
    column = df.select(input_col).schema.fields[0].dataType
    parts = isinstance(column, ArrayType)
    if not isinstance(column.elementType if isinstance(column, ArrayType) else column,
                      StringType):
        raise TypeError(f"{input_col} is {column.simpleString()}: unspin repairs a string "
                        "column, or an array<string> column of a document's parts")
    run = _repair_parts if parts else _repair_one
    out_type = "array<string>" if parts else "string"
    if edits_col is None:
        fix = F.udf(partial(run, c, False), out_type, useArrow=False)
        return df.withColumn(output_col, fix(F.col(input_col)))
    edit = ", ".join(f"{name}: {kind}" for name, kind in _EDIT_FIELDS)
    edits_type = f"array<struct<{edit}>>"
    if parts:
        edits_type = f"array<{edits_type}>"
    ddl = f"struct<fixed: {out_type}, edits: {edits_type}>"
    both = F.udf(partial(run, c, True), ddl, useArrow=False)
    tmp = f"__unspin_{output_col}"
    return (
        df.withColumn(tmp, both(F.col(input_col)))
        .withColumn(output_col, F.col(f"{tmp}.fixed"))
        .withColumn(edits_col, F.col(f"{tmp}.edits"))
        .drop(tmp)
    )
