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


def _repair_one(config: Config, with_edits: bool, text: str | None) -> Any:
    # Runs on the executors: the cached loader gives one Repairer per worker process.
    from .pipeline import shared_repairer

    if text is None:
        return None
    result = shared_repairer(config).fix_and_explain(text)
    if not with_edits:
        return result.fixed
    return (result.fixed, [tuple(getattr(e, f) for f, _ in _EDIT_FIELDS) for e in result.edits])


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
    """
    from functools import partial

    from pyspark.sql import functions as F

    c = resolve(config)
    if edits_col is None:
        fix = F.udf(partial(_repair_one, c, False), "string", useArrow=False)
        return df.withColumn(output_col, fix(F.col(input_col)))
    edit = ", ".join(f"{name}: {kind}" for name, kind in _EDIT_FIELDS)
    ddl = f"struct<fixed: string, edits: array<struct<{edit}>>>"
    both = F.udf(partial(_repair_one, c, True), ddl, useArrow=False)
    tmp = f"__unspin_{output_col}"
    return (
        df.withColumn(tmp, both(F.col(input_col)))
        .withColumn(output_col, F.col(f"{tmp}.fixed"))
        .withColumn(edits_col, F.col(f"{tmp}.edits"))
        .drop(tmp)
    )
