"""The analysis on Apache Spark: a connection with DuckDB's API over a SparkSession.

The analysis is written once, in DuckDB's SQL dialect, against a small part of
DuckDB's connection API: ``execute(sql, params).fetchall()/fetchone()``,
``sql(sql).to_arrow_table()``, ``register(name, arrow_table)`` and
``unregister(name)``. :class:`SparkConnection` offers that same part over a
SparkSession, so that an operator whose call records live on a Spark cluster runs
the same queries there:

* each statement is transpiled from DuckDB to Spark SQL with sqlglot (once per
  statement text), after the rewrites in :data:`REWRITES` for the constructs
  sqlglot does not carry over with DuckDB's meaning;
* ``?`` parameters are bound as SQL literals built by sqlglot (quoted, never
  pasted as text);
* ``CREATE [OR REPLACE] TEMP TABLE x AS ...`` becomes a DataFrame computed once
  (a local checkpoint) behind a temporary view ``x``; ``CREATE VIEW`` a temporary
  view; ``UPDATE`` and ``ALTER TABLE … ADD COLUMN`` of such a table write it anew;
* results come back as Arrow tables (``DataFrame.toArrow``).

The session runs in UTC with ANSI mode off, so that casts that fail give NULL as
DuckDB's ``TRY_CAST`` would and integer overflow behaves as in the JVM; nothing is
downloaded (no packages, no Ivy). ``SPARK_REMOTE`` in the environment selects Spark
Connect instead of a local or standalone master.

Errors: :class:`SparkUnavailableError` when pyspark or Java is missing (the CLI turns it
into exit 2); Spark's own exceptions otherwise, with the transpiled statement added
to their notes.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

import pyarrow as pa
import sqlglot
from sqlglot import exp

from qalqan.errors import QalqanError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "REWRITES",
    "SparkConnection",
    "SparkCursor",
    "SparkRelation",
    "SparkUnavailableError",
    "require_spark",
    "start_session",
    "to_spark_sql",
]


class SparkUnavailableError(QalqanError):
    """Spark cannot run here: pyspark is not installed or no Java runtime is found."""


# --- the session ------------------------------------------------------------------


def require_spark() -> None:
    """Stop early, before any work, when Spark cannot run here (no pyspark, no Java)."""
    try:
        import pyspark  # noqa: F401
    except ImportError as e:
        raise SparkUnavailableError(
            "--engine spark needs pyspark: pip install 'qalqan[spark]'"
        ) from e
    if os.environ.get("SPARK_REMOTE"):
        return
    java_home = os.environ.get("JAVA_HOME")
    if not shutil.which("java") and not (java_home and os.path.exists(f"{java_home}/bin/java")):
        raise SparkUnavailableError(
            "--engine spark needs a Java runtime (17 or later) on PATH or in JAVA_HOME"
        )


def start_session(master: str | None = None, *, cores: int | None = None) -> SparkSession:
    """A SparkSession for the analysis: ``master`` (``local[N]`` by default) or Spark Connect.

    Local mode gets few shuffle partitions (the default 200 turn a small query into
    200 tiny tasks) and no UI; the session's time zone is UTC, as the staged data's.
    """
    require_spark()
    from pyspark.sql import SparkSession

    remote = os.environ.get("SPARK_REMOTE")
    n = cores or os.cpu_count() or 2
    builder = SparkSession.builder.appName("qalqan-analyze")
    if remote:
        builder = builder.remote(remote)
    else:
        builder = builder.master(master or f"local[{n}]")
        builder = builder.config("spark.ui.enabled", "false")
        builder = builder.config("spark.ui.showConsoleProgress", "false")
        memory = os.environ.get("QALQAN_SPARK_MEMORY", "4g")
        builder = builder.config("spark.driver.memory", memory)
    for key, value in _SETTINGS.items():
        builder = builder.config(key, value)
    if not remote and (master is None or master.startswith("local")):
        builder = builder.config("spark.sql.shuffle.partitions", str(max(4, 2 * n)))
    try:
        session = builder.getOrCreate()
    except Exception as e:  # the JVM failing to start comes in many types
        raise SparkUnavailableError(f"Spark did not start: {str(e).splitlines()[0]}") from e
    if not remote:
        session.sparkContext.setLogLevel("ERROR")
    return session


_SETTINGS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.caseSensitive": "false",
    "spark.sql.legacy.timeParserPolicy": "CORRECTED",
    "spark.jars.ivy": "/nonexistent-no-downloads",
}


# --- transpiling --------------------------------------------------------------------

Rewrite = Callable[[exp.Expression], exp.Expression]


def _micros(value: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this="unix_micros", expressions=[exp.cast(value, "timestamp")])


def _epoch(node: exp.Expression) -> exp.Expression:
    """``epoch(ts)`` is seconds since 1970 with the fraction (Spark's UNIX_TIMESTAMP drops it);
    ``epoch(a - b)`` of an interval is the seconds between them; ``epoch_us`` microseconds."""
    name = node.name.lower() if isinstance(node, exp.Anonymous) else ""
    if isinstance(node, exp.TimeToUnix) or name == "epoch":
        arg = node.this if isinstance(node, exp.TimeToUnix) else node.expressions[0]
        if isinstance(arg, exp.Paren):
            arg = arg.this
        if isinstance(arg, exp.Sub):
            micros: exp.Expression = exp.Sub(
                this=_micros(arg.this.copy()), expression=_micros(arg.expression.copy())
            )
        else:
            micros = _micros(arg.copy())
        return exp.Div(this=exp.Paren(this=micros), expression=exp.Literal.number("1e6"))
    if name == "epoch_us":
        return _micros(node.expressions[0].copy())
    if name == "to_seconds":
        zero = exp.Literal.number(0)
        secs = node.expressions[0].copy()
        return exp.Anonymous(this="make_dt_interval", expressions=[zero, zero, zero.copy(), secs])
    return node


def _decimal_literals(node: exp.Expression) -> exp.Expression:
    """``1.0`` is a DECIMAL in both, but DuckDB's avg/division of decimals gives DOUBLE and
    Spark's gives a DECIMAL rounded to its scale; as DOUBLE both agree."""
    if (
        isinstance(node, exp.Literal)
        and not node.is_string
        and "." in node.this
        and "e" not in node.this.lower()
        and not isinstance(node.parent, exp.Cast)
    ):
        return exp.cast(node.copy(), exp.DataType.build("double"))
    return node


def _ordered_list(node: exp.Expression) -> exp.Expression:
    """``list(x ORDER BY k)``: sqlglot drops the order; Spark sorts a list of (k, x) instead."""
    if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order):
        order = node.this
        keys = [o.this.copy() for o in order.expressions]
        if any(o.args.get("desc") for o in order.expressions):
            return node  # not used by the analysis; left to fail loudly on Spark
        fields = [exp.alias_(k, f"k{i}") for i, k in enumerate(keys)]
        fields.append(exp.alias_(order.this.copy(), "v"))
        pairs = exp.Anonymous(
            this="collect_list", expressions=[exp.Anonymous(this="struct", expressions=fields)]
        )
        return sqlglot.parse_one("transform(array_sort(_p), e -> e.v)", read="spark").transform(
            lambda n: pairs if isinstance(n, exp.Column) and n.name == "_p" else n
        )
    return node


def _json_text(value: exp.Expression) -> exp.Expression:
    """The JSON text of one value: objects and arrays (and ``json(x)``) as they are, scalars
    encoded (strings quoted and escaped, NULL as null)."""
    if isinstance(value, exp.JSONObject | exp.JSONArray):
        return _json_string(value)
    if isinstance(value, exp.Anonymous) and value.name.lower() == "json":
        return cast(exp.Expression, value.expressions[0].copy())
    if isinstance(value, exp.ParseJSON):
        return cast(exp.Expression, value.this.copy())
    wrapped = exp.Anonymous(
        this="to_json", expressions=[exp.Array(expressions=[value.copy()])]
    )  # '[v]' → 'v'
    inner = exp.Substring(
        this=wrapped,
        start=exp.Literal.number(2),
        length=exp.Sub(this=exp.Length(this=wrapped.copy()), expression=exp.Literal.number(2)),
    )
    return exp.Coalesce(this=inner, expressions=[exp.Literal.string("null")])


def _json_string(node: exp.Expression) -> exp.Expression:
    parts: list[exp.Expression] = []
    if isinstance(node, exp.JSONObject):
        parts.append(exp.Literal.string("{"))
        for i, pair in enumerate(node.expressions):
            key = pair.this.name
            parts.append(exp.Literal.string(("," if i else "") + f'"{key}":'))
            parts.append(_json_text(pair.expression))
        parts.append(exp.Literal.string("}"))
    else:
        parts.append(exp.Literal.string("["))
        for i, item in enumerate(node.expressions):
            if i:
                parts.append(exp.Literal.string(","))
            parts.append(_json_text(item))
        parts.append(exp.Literal.string("]"))
    return exp.Anonymous(this="concat", expressions=parts)


def _json(node: exp.Expression) -> exp.Expression:
    """``json_object``/``json_array`` as JSON text built with concat (Spark has neither);
    DuckDB writes the same compact text."""
    if isinstance(node, exp.JSONObject | exp.JSONArray) and not isinstance(
        node.parent, exp.JSONObject | exp.JSONArray | exp.JSONKeyValue
    ):
        return _json_string(node)
    return node


REWRITES: list[Rewrite] = [_epoch, _decimal_literals, _ordered_list, _json]
"""sqlglot transforms applied before writing Spark SQL: each keeps DuckDB's meaning where
sqlglot's own mapping would change a result. One place, so that the analysis's SQL stays
written once."""


def _bind(tree: exp.Expression, params: Sequence[Any]) -> exp.Expression:
    """``?`` placeholders, in order, replaced by literals of the parameters' values."""
    values = iter(params)

    def literal(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder):
            return cast(exp.Expression, exp.convert(next(values)))
        return node

    return tree.transform(literal)


@lru_cache(maxsize=4096)
def _parsed(sql: str) -> exp.Expression:
    tree = cast(exp.Expression, sqlglot.parse_one(sql, read="duckdb"))
    for rewrite in REWRITES:
        tree = tree.transform(rewrite)
    return tree


def to_spark_sql(sql: str, params: Sequence[Any] | None = None) -> str:
    """DuckDB SQL (with ``?`` parameters bound to ``params``) as Spark SQL."""
    tree = _parsed(sql)
    if params:
        tree = _bind(tree.copy(), params)
    return tree.sql(dialect="spark")


# --- results ------------------------------------------------------------------------


@dataclass(slots=True)
class SparkCursor:
    """The rows of one statement, fetched by the driver when first asked."""

    frame: DataFrame | None
    _rows: list[tuple[Any, ...]] | None = None
    _next: int = 0

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows = self._all()[self._next :]
        self._next = len(self._all())
        return rows

    def fetchmany(self, size: int = 1) -> list[tuple[Any, ...]]:
        rows = self._all()[self._next : self._next + size]
        self._next += len(rows)
        return rows

    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self._all()
        if self._next >= len(rows):
            return None
        self._next += 1
        return rows[self._next - 1]

    def to_arrow_table(self) -> pa.Table:
        if self.frame is None:
            return pa.table({})
        return self.frame.toArrow()

    arrow = to_arrow_table

    def _all(self) -> list[tuple[Any, ...]]:
        if self._rows is None:
            if self.frame is None:
                self._rows = []
            else:
                table = self.frame.toArrow()
                columns = [c.to_pylist() for c in table.columns]
                self._rows = list(zip(*columns, strict=True)) if columns else []
        return self._rows


SparkRelation = SparkCursor


# --- the connection -----------------------------------------------------------------


@dataclass(slots=True)
class SparkConnection:
    """DuckDB's connection API (the part the analysis uses) over a SparkSession."""

    session: SparkSession
    owns_session: bool = True
    _held: dict[str, DataFrame] = field(default_factory=dict)

    @classmethod
    def start(cls, master: str | None = None, *, cores: int | None = None) -> SparkConnection:
        return cls(session=start_session(master, cores=cores))

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> SparkCursor:
        """Run one DuckDB-dialect statement on Spark."""
        tree = _parsed(sql)
        if params:
            tree = _bind(tree.copy(), params)
        if isinstance(tree, exp.Create) and tree.expression is not None:
            self._create(tree)
            return SparkCursor(None)
        if isinstance(tree, exp.Drop):
            self._drop(tree)
            return SparkCursor(None)
        if isinstance(tree, exp.Update):
            self._update(tree)
            return SparkCursor(None)
        if isinstance(tree, exp.Alter):
            self._add_columns(tree)
            return SparkCursor(None)
        if isinstance(tree, exp.Set | exp.Command | exp.Pragma):
            return SparkCursor(None)  # DuckDB's settings have no meaning on Spark
        return SparkCursor(self._run(tree))

    def sql(self, sql: str) -> SparkRelation:
        return self.execute(sql)

    def register(self, name: str, table: pa.Table) -> SparkConnection:
        """A pyarrow table as a temporary view ``name``, as DuckDB's register does."""
        frame = self.session.createDataFrame(table) if table.num_columns else None
        if frame is None:
            raise ValueError(f"cannot register {name}: a table without columns")
        frame = frame.localCheckpoint()
        self._replace(name, frame)
        return self

    def has_table(self, name: str) -> bool:
        """Whether a temporary view or table ``name`` is there (``features.has_table``)."""
        return bool(self.session.catalog.tableExists(name))

    def unregister(self, name: str) -> SparkConnection:
        self._forget(name)
        self.session.catalog.dropTempView(name)
        return self

    def close(self) -> None:
        for name in list(self._held):
            self._forget(name)
        if self.owns_session:
            self.session.stop()

    def _run(self, tree: exp.Expression) -> DataFrame:
        return self._sql(tree.sql(dialect="spark"))

    def _create(self, tree: exp.Create) -> None:
        name = tree.this.find(exp.Table)
        assert name is not None, tree.sql()
        frame = self._run(tree.expression)
        if str(tree.args.get("kind", "")).upper() == "TABLE":
            frame = frame.localCheckpoint()
        self._replace(name.name, frame)

    def _update(self, tree: exp.Update) -> None:
        """``UPDATE t SET c = e [FROM s] WHERE …`` on a temp table: the table written anew.

        Spark has no UPDATE of a temporary view, so each row is numbered, the rows the
        WHERE (joined to FROM) matches get their new values (any one match, as in DuckDB),
        and the table is rebuilt with those values in place and its columns' types kept.
        """
        from pyspark.sql import functions

        target = tree.this
        name, alias = target.name, target.alias_or_name
        frame = self.session.table(name)
        types = {f.name: f.dataType.simpleString() for f in frame.schema.fields}
        rowid = "__qalqan_row"
        frame.withColumn(
            rowid, functions.monotonically_increasing_id()
        ).localCheckpoint().createOrReplaceTempView("__qalqan_update")
        sets = {eq.this.name: eq.expression for eq in tree.expressions}
        values = ", ".join(f"first({e.sql(dialect='spark')}) AS `__v_{c}`" for c, e in sets.items())
        source = tree.args.get("from_")
        joined = f", {source.this.sql(dialect='spark')}" if source is not None else ""
        where = tree.args.get("where")
        condition = f" WHERE {where.this.sql(dialect='spark')}" if where is not None else ""
        matched = (
            f"SELECT `{alias}`.{rowid}, {values} FROM __qalqan_update AS `{alias}`{joined}"
            f"{condition} GROUP BY `{alias}`.{rowid}"
        )
        cols = ", ".join(
            f"CAST(CASE WHEN m.{rowid} IS NULL THEN u.`{c}` ELSE m.`__v_{c}` END AS {types[c]}) AS `{c}`"
            if c in sets
            else f"u.`{c}`"
            for c in frame.columns
        )
        rebuilt = self._sql(
            f"SELECT {cols} FROM __qalqan_update AS u LEFT JOIN ({matched}) AS m ON u.{rowid} = m.{rowid}"
        ).localCheckpoint()
        self._replace(name, rebuilt)
        self.session.catalog.dropTempView("__qalqan_update")

    def _add_columns(self, tree: exp.Alter) -> None:
        """``ALTER TABLE t ADD COLUMN c TYPE`` on a temp table: ``t`` with ``c`` NULL."""
        added = [
            f"CAST(NULL AS {a.args['kind'].sql(dialect='spark')}) AS `{a.name}`"
            for a in tree.args.get("actions", [])
            if isinstance(a, exp.ColumnDef)
        ]
        name = tree.this.name
        self._replace(
            name, self._sql(f"SELECT *, {', '.join(added)} FROM `{name}`").localCheckpoint()
        )

    def _sql(self, text: str) -> DataFrame:
        try:
            return self.session.sql(text)
        except Exception as e:
            e.add_note(f"Spark SQL: {text}")
            raise

    def _drop(self, tree: exp.Drop) -> None:
        table = tree.find(exp.Table)
        if table is not None:
            self._forget(table.name)
            self.session.catalog.dropTempView(table.name)

    def _replace(self, name: str, frame: DataFrame) -> None:
        frame.createOrReplaceTempView(name)
        old = self._held.pop(name, None)
        self._held[name] = frame
        if old is not None and old is not frame:
            old.unpersist()

    def _forget(self, name: str) -> None:
        old = self._held.pop(name, None)
        if old is not None:
            old.unpersist()
