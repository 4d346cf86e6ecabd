"""End to end on Spark: local[2], one Repairer per Python worker, same output as in-process."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

SPUN = [
    "The AK Social gathering mentioned the demise toll had risen to 21 this thirty day period .",
    "The navy mentioned the faculties were closed for a thirty day period .",
    "The war has displaced thousands and thousands and killed hundreds of thousands of people .",
    "She said the death toll was rising .",
    None,
]
ARROW_BATCH = 80  # rows Spark sends the Python worker at once (default 10,000)


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    # Skipped here, not for the module: resolve() below needs neither pyspark nor Java.
    pytest.importorskip("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java: run 'make setup' (installs Java 17)")
    from pyspark.sql import SparkSession

    # Quiet start-up: errors only, from the first line the JVM logs.
    log4j = tmp_path_factory.mktemp("spark") / "log4j2.properties"
    log4j.write_text(
        "rootLogger.level = error\nrootLogger.appenderRef.stderr.ref = console\n"
        "appender.console.type = Console\nappender.console.name = console\n"
        "appender.console.target = SYSTEM_ERR\nappender.console.layout.type = PatternLayout\n"
        "appender.console.layout.pattern = %m%n\n",
        encoding="utf-8",
    )
    # Workers must run this interpreter (the venv with repair installed).
    env = {"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
           "SPARK_LOCAL_IP": "127.0.0.1"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("unspin-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(ARROW_BATCH))
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{log4j}")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def test_repair_column_matches_single_process(  # type: ignore[no-untyped-def]
    spark, repairer, tiny_lm: Path, tiny_lexicon: Path
):
    from repair import Config
    from repair.spark import _EDIT_FIELDS, BATCH, repair_column

    config = Config(lm=str(tiny_lm), lexicons=(str(tiny_lexicon),))
    # Two partitions, no shuffle, each two Arrow batches (ARROW_BATCH rows at most), the
    # first of more texts than the re-scorer judges at once, nulls among them: every text
    # must come back to its own row.
    texts = [SPUN[i % len(SPUN)] for i in range(3 * BATCH + 7)]
    texts[BATCH - 1] = texts[BATCH] = None
    assert BATCH < ARROW_BATCH < len(texts) // 2
    rows_in = spark.sparkContext.parallelize(list(enumerate(texts)), 2)
    df = spark.createDataFrame(rows_in, "id int, text string")
    # Both code paths (with and without edits) in one Spark job.
    out = repair_column(df, "text", "plain", config)
    out = repair_column(out, "text", "fixed", config, edits_col="edits")
    rows = sorted(out.collect(), key=lambda r: r["id"])
    assert [r["id"] for r in rows] == list(range(len(texts)))
    assert [r["text"] for r in rows] == texts
    for r in rows:
        if r["text"] is None:
            assert r["fixed"] is None
            continue
        expected = repairer.fix_and_explain(r["text"])
        assert r["fixed"] == expected.fixed
        assert [tuple(e[f] for f, _ in _EDIT_FIELDS) for e in r["edits"]] == [
            tuple(getattr(e, f) for f, _ in _EDIT_FIELDS) for e in expected.edits]
    assert any(r["fixed"] != r["text"] for r in rows)  # the test exercises real edits
    assert all(r["plain"] == r["fixed"] for r in rows)


LIGHT = "The navy said the schools were closed for a month ."  # one spin: too little alone


def test_array_column_repairs_a_documents_parts_together(  # type: ignore[no-untyped-def]
    spark, repairer, tiny_lm: Path, tiny_lexicon: Path
):
    """The Spark idiom for paragraphs kept as rows: gather each article's paragraphs in
    order into an array, repair the array; each part is judged within its document."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from repair import Config
    from repair.spark import repair_column

    config = Config(lm=str(tiny_lm), lexicons=(str(tiny_lexicon),))
    paras = [("a", 0, SPUN[0]), ("a", 1, LIGHT), ("b", 0, LIGHT), ("c", 0, None),
             ("c", 1, SPUN[1]), ("c", 2, LIGHT)]
    df = spark.createDataFrame(paras, "doc string, n int, text string")
    w = Window.partitionBy("doc").orderBy("n").rowsBetween(
        Window.unboundedPreceding, Window.unboundedFollowing)
    docs = (df.withColumn("parts", F.collect_list("text").over(w))
            .groupBy("doc").agg(F.first("parts").alias("parts")))
    docs = docs.union(spark.createDataFrame([("d", None), ("e", [SPUN[0], None, LIGHT])],
                                            "doc string, parts array<string>"))
    out = repair_column(docs, "parts", "fixed", config, edits_col="edits")
    got = {r["doc"]: (r["fixed"], r["edits"]) for r in out.collect()}
    for doc, texts in (("a", [SPUN[0], LIGHT]), ("b", [LIGHT]), ("c", [SPUN[1], LIGHT])):
        expected = repairer.fix_parts(texts)
        fixed, edits = got[doc]
        assert fixed == [r.fixed for r in expected]
        assert [[e["start"] for e in es] for es in edits] == [
            [e.start for e in r.edits] for r in expected]
    assert got["a"][0][1] != LIGHT and got["b"][0] == [LIGHT]  # within its article only
    assert got["d"] == (None, None)
    # A null part stays null and is no part of the document.
    assert got["e"][0] == [got["a"][0][0], None, got["a"][0][1]] and got["e"][1][1] is None
    plain = repair_column(docs.filter("doc = 'c'"), "parts", "fixed", config).collect()[0]
    assert plain["fixed"] == got["c"][0]


def test_columns_named_as_spark_names_them(  # type: ignore[no-untyped-def]
    spark, repairer, tiny_lm: Path, tiny_lexicon: Path
):
    """A field of a struct and a quoted name, as with any Spark column; a column that is
    neither text nor an array of texts is refused on the driver, in one line."""
    from repair import Config
    from repair.spark import repair_column

    config = Config(lm=str(tiny_lm), lexicons=(str(tiny_lexicon),))
    df = spark.createDataFrame([((SPUN[1],), SPUN[1], [1])],
                               "s struct<text: string>, `my col` string, n array<int>")
    out = repair_column(df, "s.text", "a", config)
    out = repair_column(out, "`my col`", "b", config).collect()[0]
    assert out["a"] == out["b"] == repairer.fix(SPUN[1]) != SPUN[1]
    with pytest.raises(TypeError, match=r"^n is array<int>: unspin repairs a string column"):
        repair_column(df, "n", "x", config)


def test_resolve_pins_every_path_for_the_executors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An executor's working folder is not the driver's: a relative path left in the config
    would name nothing there ("no language model at lm/build/news.binary")."""
    from dataclasses import fields

    from repair import Config
    from repair.spark import resolve

    for rel in ("lm/main.binary", "lm/news.binary", "tables/t.tsv", "cal.json", "off.tsv"):
        (tmp_path / rel).parent.mkdir(exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    c = resolve(Config(lm="lm/main.binary", news_lm="lm/news.binary", lexicons=("tables/t.tsv",),
                       calibration="cal.json", disabled="off.tsv"))
    monkeypatch.chdir(tmp_path / "tables")  # as an executor: another working folder
    paths = [getattr(c, f.name) for f in fields(Config) if "str" in str(f.type)]
    paths = [p for v in paths for p in (v if isinstance(v, tuple) else (v,))]
    assert len(paths) == 5  # a new path field of Config must be pinned too
    for p in paths:
        assert os.path.isabs(p) and os.path.isfile(p), p
    assert c.news_lm == str(tmp_path / "lm" / "news.binary")
    # Unset optional paths stay unset.
    none = resolve(Config(lm=str(tmp_path / "lm/main.binary"), news_lm=None, lexicons=(),
                          calibration=None, disabled=None))
    assert (none.news_lm, none.calibration, none.disabled, none.lexicons) == (None, None, None, ())


def test_an_older_spark_is_told_what_it_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Review: on Spark before 4.1 (no Arrow UDFs) the helper failed on an attribute deep in
    its code; it says what it needs instead."""
    pytest.importorskip("pyspark")
    from pyspark.sql import functions as F

    from repair.spark import repair_column

    monkeypatch.delattr(F, "arrow_udf")
    with pytest.raises(RuntimeError, match=r"^repair_column needs pyspark 4\.1 or later"):
        repair_column(None, "text", "fixed")  # type: ignore[arg-type]
