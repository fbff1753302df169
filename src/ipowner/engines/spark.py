"""The range join and the report's rollups in PySpark, for flow tables too big for one machine.

Spark has no range join, so the join is an equality join on a bucket key followed by a range filter,
over the range tables ``ipowner ranges export`` writes (docs/ranges.md):

- ``ranges_bucketed``: segments no wider than a bucket (an IPv4 /16, an IPv6 /34), each under its
  ``bucket``; an address's bucket is its first 16 or 34 bits, so it meets only the few segments of its
  bucket (an equality join Spark shuffles or sorts by, then ``start <= address <= end``).
- ``ranges_wide``: the segments wider than a bucket. They are few enough to broadcast, but too many to
  compare every address with (over 100,000 IPv6 allocations wider than a /34), so they are indexed once
  more: each wide segment goes under its ``level`` (the longest prefix length of ``WIDE_LEVELS`` at which
  it spans at most ``WIDE_SPAN`` keys) and under each key it spans there; an address carries its key at
  every level, and the broadcast equality join on (family, level, key) leaves a handful of candidates
  for the range filter.

Every address is in at most one row of the two tables together, so the union of both joins is the
address's segment. An address in a translation block (the row's ``translation``: NAT64, 6to4, Teredo,
IPv4-mapped) takes the block's special-purpose facts and the other facts of the IPv4 address it carries,
unless that address is special-purpose itself (then nothing more is known, as in a lookup).

The join runs once per distinct address, and the facts go back to the flows by an equality join on the
address. Everything is Spark SQL: the executors need no Python code of ipowner (no UDFs).

``enrich(flows_df, ranges_df, wide_df)`` returns the flows with the facts; ``rollups(enriched_df)`` the
report's rollups over internet destinations, weighed by bytes: per destination and per jurisdiction
fact (location country or anycast, holder country, holder, origin AS). ``engines/spark_submit.py`` is the
job that runs both on a cluster (docs/spark.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ipowner.engines.ranges import BUCKET_PREFIX, OUTPUT_COLUMNS
from ipowner.errors import UsageError

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

INSTALL = "pip install 'ipowner[spark]'"
# Prefix lengths the wide segments are indexed at, and how many keys a wide segment may span at its level.
WIDE_LEVELS = {4: (4, 8, 12), 6: (4, 8, 12, 16, 20, 24, 28, 32)}
WIDE_SPAN = 16
# The flow table's join columns (docs/tables.md).
FAMILY, KEY = "family", "address_key"
_TOP = 40  # the IPv6 key bits read as one integer (the first five bytes): enough for every level and bucket
_COUNTERS = ("flows", "packets_sent", "packets_received", "bytes_sent", "bytes_received", "ip_bytes_sent",
             "ip_bytes_received")


def functions() -> Any:
    """``pyspark.sql.functions``, or a ``UsageError`` naming the install command without the extra."""
    try:
        from pyspark.sql import functions as F
    except ImportError:
        raise UsageError(f"the Spark engine needs pyspark: {INSTALL}") from None
    return F


# -- keys -------------------------------------------------------------------------------------------------

def _top_bits(key: Column, family: Column, bits: int) -> Column:
    """The first ``bits`` bits of an address key (16 big-endian bytes) as a long: of the 32-bit address for
    IPv4 (the key's last four bytes), of the 128-bit one for IPv6."""
    F = functions()
    v4 = F.conv(F.hex(F.substring(key, 13, 4)), 16, 10).cast("long")
    v6 = F.conv(F.hex(F.substring(key, 1, 5)), 16, 10).cast("long")
    return F.when(family == 4, F.shiftright(v4, 32 - bits)).otherwise(F.shiftright(v6, _TOP - bits))


def _level_key(key: Column, family: int, level: int) -> Column:
    """The first ``level`` bits of keys of one family."""
    F = functions()
    if family == 4:
        return F.shiftright(F.conv(F.hex(F.substring(key, 13, 4)), 16, 10).cast("long"), 32 - level)
    return F.shiftright(F.conv(F.hex(F.substring(key, 1, 5)), 16, 10).cast("long"), _TOP - level)


def bucket_of(key: Column, family: Column) -> Column:
    """The range table's ``bucket`` of an address key: its first 16 (IPv4) or 34 (IPv6) bits."""
    F = functions()
    return F.when(family == 4, _top_bits(key, family, BUCKET_PREFIX[4])).otherwise(
        _top_bits(key, family, BUCKET_PREFIX[6]))


_V4_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_V4_TEXT = rf"^{_V4_OCTET}\.{_V4_OCTET}\.{_V4_OCTET}\.{_V4_OCTET}$"
_DOTTED_TAIL = r"^(.*:)([0-9]+\.[0-9.]*)$"  # an IPv6 text ending in a dotted quad: (the groups before, the quad)


def with_address_key(df: DataFrame, column: str = "address") -> DataFrame:
    """``df`` with the flow table's ``family`` and ``address_key`` computed from the address text in
    ``column`` (for flows from elsewhere); text that is no address gets nulls, and joins nothing.

    The texts ``enrich()`` reads as addresses: IPv4 dotted quads (no leading zeros), IPv6 with ``::``
    or an embedded dotted quad, in any case, with spaces around, in brackets or with a zone id. Computed step by step (each step a column of the
    next), so that no expression is repeated inside another.
    """
    F = functions()
    c = F.col
    tmp = [f"_ipowner_{n}" for n in ("text", "head", "tail", "v6", "halves", "left", "right", "groups")]
    text, head, tail, v6, halves, left, right, groups = (c(n) for n in tmp)
    empty = F.array().cast("array<string>")
    # as enrich() reads an input: spaces around it, brackets around an IPv6 address and a zone id go
    bare = F.regexp_replace(F.lower(F.trim(c(column))), r"^\[(.*)\]$", "$1")
    out = (df.withColumn(tmp[0], F.when(bare.contains(":"), F.regexp_replace(bare, "%.*$", "")).otherwise(bare))
           .withColumn(tmp[1], F.regexp_extract(text, _DOTTED_TAIL, 1))
           .withColumn(tmp[2], F.regexp_extract(text, _DOTTED_TAIL, 2)))
    # IPv6: a trailing dotted quad becomes two groups; "::" stands for the zero groups missing.
    quad = F.lower(F.lpad(F.hex(_v4_value(tail)), 8, "0"))
    out = out.withColumn(tmp[3], F.when(tail == "", text).when(
        tail.rlike(_V4_TEXT), F.concat(head, F.substring(quad, 1, 4), F.lit(":"), F.substring(quad, 5, 4))))
    out = out.withColumn(tmp[4], F.split(v6, "::", -1))
    out = (out.withColumn(tmp[5], F.when(F.element_at(halves, 1) == "", empty).otherwise(
               F.split(F.element_at(halves, 1), ":", -1)))
           .withColumn(tmp[6], F.when((F.size(halves) < 2) | (F.element_at(halves, -1) == ""), empty).otherwise(
               F.split(F.element_at(halves, -1), ":", -1))))
    missing = F.lit(8) - F.size(left) - F.size(right)
    out = out.withColumn(tmp[7], F.when(F.size(halves) == 1, left).when(
        (F.size(halves) == 2) & (missing >= 1), F.concat(left, F.array_repeat(F.lit("0"), missing), right)))
    good = (F.size(groups) == 8) & F.forall(groups, lambda g: g.rlike("^[0-9a-f]{1,4}$"))
    v6_key = F.unhex(F.concat_ws("", F.transform(groups, lambda g: F.lpad(g, 4, "0"))))
    v4_key = F.concat(F.lit(bytes(12)), F.unhex(F.lpad(F.hex(_v4_value(text)), 8, "0")))
    is_v4 = text.rlike(_V4_TEXT)
    is_v6 = text.contains(":") & F.coalesce(good, F.lit(False))
    out = (out.withColumn(FAMILY, F.when(is_v4, F.lit(4)).when(is_v6, F.lit(6)).cast("tinyint"))
           .withColumn(KEY, F.when(is_v4, v4_key).when(is_v6, v6_key)))
    return out.drop(*tmp)


def _v4_value(text: Column) -> Column:
    F = functions()
    parts = F.split(text, r"\.")
    return (F.element_at(parts, 1).cast("long") * 16777216 + F.element_at(parts, 2).cast("long") * 65536
            + F.element_at(parts, 3).cast("long") * 256 + F.element_at(parts, 4).cast("long"))


def carried_ipv4_key(key: Column, translation: Column) -> Column:
    """The key of the IPv4 address an IPv6 address of a translation block carries, by the row's
    ``translation`` (docs/ranges.md; ``providers.special.look_through`` is the rule)."""
    F = functions()
    low32 = F.substring(key, 13, 4)
    inverted = F.unhex(F.lpad(F.hex(F.conv(F.hex(low32), 16, 10).cast("long").bitwiseXOR(F.lit(0xFFFFFFFF))), 8, "0"))
    four = (F.when(translation.isin("ipv4-mapped", "nat64"), low32)
            .when(translation == "nat64-local", F.concat(F.substring(key, 7, 2), F.substring(key, 10, 2)))
            .when(translation == "6to4", F.substring(key, 3, 4))
            .when(translation == "teredo", inverted))
    return F.concat(F.lit(bytes(12)), four)


# -- the join ---------------------------------------------------------------------------------------------

def fact_columns(ranges_df: DataFrame) -> list[str]:
    """The fact columns of the range table an enriched table carries (``OUTPUT_COLUMNS`` it has)."""
    return [c for c in OUTPUT_COLUMNS if c in ranges_df.columns]


def _wide_index(wide_df: DataFrame) -> DataFrame:
    """(family, level, key, start, end) of each wide segment under every key it spans at its level."""
    F = functions()
    parts = []
    for family, levels in WIDE_LEVELS.items():
        rows = wide_df.where(F.col("family") == family)
        level: Column = F.lit(levels[0])
        for lv in levels[1:]:  # the longest level at which the segment spans at most WIDE_SPAN keys
            lo, hi = _level_key(F.col("start"), family, lv), _level_key(F.col("end"), family, lv)
            level = F.when(hi - lo < WIDE_SPAN, F.lit(lv)).otherwise(level)
        rows = rows.withColumn("level", level)
        lo_at = hi_at = None
        for lv in levels:
            lo = _level_key(F.col("start"), family, lv)
            hi = _level_key(F.col("end"), family, lv)
            lo_at = F.when(F.col("level") == lv, lo) if lo_at is None else lo_at.when(F.col("level") == lv, lo)
            hi_at = F.when(F.col("level") == lv, hi) if hi_at is None else hi_at.when(F.col("level") == lv, hi)
        assert lo_at is not None and hi_at is not None
        parts.append(rows.select("family", "level", F.explode(F.sequence(lo_at, hi_at)).alias("key"), "start", "end"))
    index = parts[0]
    for p in parts[1:]:
        index = index.unionByName(p)
    return index


def _address_levels(addresses: DataFrame) -> DataFrame:
    """(family, address_key, level, key) of each address at every wide level of its family."""
    F = functions()
    parts = []
    for family, levels in WIDE_LEVELS.items():
        rows = addresses.where(F.col(FAMILY) == family)
        pairs = F.array(*(F.struct(F.lit(lv).alias("level"), _level_key(F.col(KEY), family, lv).alias("key"))
                          for lv in levels))
        parts.append(rows.select(FAMILY, KEY, F.explode(pairs).alias("at")).select(
            FAMILY, KEY, F.col("at.level").alias("level"), F.col("at.key").alias("key")))
    return parts[0].unionByName(parts[1])


def segments(addresses: DataFrame, ranges_df: DataFrame, wide_df: DataFrame) -> DataFrame:
    """The segment of each address of ``addresses`` (columns ``family``, ``address_key``): the address's
    key columns and the segment's ``translation`` and facts; addresses no segment holds are left out."""
    F = functions()
    facts = fact_columns(ranges_df)
    keep = ["translation", *facts]
    a = addresses.select(FAMILY, KEY).withColumn("bucket", bucket_of(F.col(KEY), F.col(FAMILY))).alias("a")
    r = ranges_df.select("family", "bucket", "start", "end", *keep).alias("r")
    fine = a.join(r, (F.col("a.family") == F.col("r.family")) & (F.col("a.bucket") == F.col("r.bucket"))
                  & (F.col("r.start") <= F.col(f"a.{KEY}")) & (F.col(f"a.{KEY}") <= F.col("r.end")))
    fine = fine.select(F.col(f"a.{FAMILY}").alias(FAMILY), F.col(f"a.{KEY}").alias(KEY),
                       *(F.col(f"r.{c}").alias(c) for c in keep))

    levels = _address_levels(addresses.select(FAMILY, KEY)).alias("l")
    index = F.broadcast(_wide_index(wide_df)).alias("w")
    hits = levels.join(index, (F.col("l.family") == F.col("w.family")) & (F.col("l.level") == F.col("w.level"))
                       & (F.col("l.key") == F.col("w.key")) & (F.col("w.start") <= F.col(f"l.{KEY}"))
                       & (F.col(f"l.{KEY}") <= F.col("w.end")))
    hits = hits.select(F.col(f"l.{FAMILY}").alias(FAMILY), F.col(f"l.{KEY}").alias(KEY),
                       F.col("w.start").alias("wide_start")).alias("h")
    wide = hits.join(F.broadcast(wide_df.select("family", "start", *keep)).alias("wf"),
                     (F.col(f"h.{FAMILY}") == F.col("wf.family")) & (F.col("h.wide_start") == F.col("wf.start")))
    wide = wide.select(F.col(f"h.{FAMILY}").alias(FAMILY), F.col(f"h.{KEY}").alias(KEY),
                       *(F.col(f"wf.{c}").alias(c) for c in keep))
    return fine.unionByName(wide)


def address_facts(addresses: DataFrame, ranges_df: DataFrame, wide_df: DataFrame) -> DataFrame:
    """The facts of each distinct address (``family``, ``address_key``), translation blocks looked through:
    the columns ``family``, ``address_key``, ``translation`` and every fact column of the range table."""
    F = functions()
    facts = fact_columns(ranges_df)
    special = [c for c in facts if c.startswith("special")]
    rest = [c for c in facts if c not in special]
    own = segments(addresses, ranges_df, wide_df)
    translated = own.where(F.col("translation").isNotNull()).select(
        FAMILY, KEY, *special, "translation",
        carried_ipv4_key(F.col(KEY), F.col("translation")).alias("carried"))
    carried = translated.select(F.lit(4).cast("tinyint").alias(FAMILY), F.col("carried").alias(KEY)).distinct()
    behind = segments(carried, ranges_df, wide_df).where(F.col("special").isNull()).alias("b")
    t = translated.alias("t")
    looked = t.join(behind, F.col("t.carried") == F.col(f"b.{KEY}"), "left").select(
        F.col(f"t.{FAMILY}").alias(FAMILY), F.col(f"t.{KEY}").alias(KEY), F.col("t.translation").alias("translation"),
        *(F.col(f"t.{c}").alias(c) for c in special), *(F.col(f"b.{c}").alias(c) for c in rest))
    plain = own.where(F.col("translation").isNull())
    return plain.unionByName(looked.select(*plain.columns))


def enrich(flows_df: DataFrame, ranges_df: DataFrame, wide_df: DataFrame, *, column: str = "address") -> DataFrame:
    """``flows_df`` with the facts of each row's address joined: every column of the flows, then the
    fact columns ``ipowner enrich`` writes with every engine (``engines.ranges.OUTPUT_COLUMNS``: each
    fact's value and source, ``traits``, ``errors``), null where nothing is known of the address.

    ``ranges_df`` is ``ranges_bucketed.parquet``, ``wide_df`` is ``ranges_wide.parquet`` of one export.
    The flows need ``family`` and ``address_key`` (the flow table has them, docs/tables.md), or an
    address text column (``column``), from which they are computed (``with_address_key``).
    """
    F = functions()
    for name, df, need in (("ranges_df", ranges_df, ("family", "bucket", "start", "end", "translation", "special")),
                           ("wide_df", wide_df, ("family", "start", "end", "translation", "special"))):
        missing = [c for c in need if c not in df.columns]
        if missing:
            raise UsageError(f"{name} is not an ipowner range table (no column {', '.join(missing)})")
    added = False
    if FAMILY not in flows_df.columns or KEY not in flows_df.columns:
        if column not in flows_df.columns:
            raise UsageError(f"the flows need family and address_key columns, or an address column ({column!r})")
        flows_df = with_address_key(flows_df, column)
        added = True
    clash = [c for c in OUTPUT_COLUMNS if c in flows_df.columns]
    if clash:
        raise UsageError(f"the flows already have fact columns ({', '.join(clash[:5])}): enrich the original flows")
    distinct = flows_df.select(FAMILY, KEY).where(F.col(KEY).isNotNull()).distinct()
    facts = address_facts(distinct, ranges_df, wide_df).alias("x")
    out = flows_df.alias("f").join(facts, (F.col(f"f.{FAMILY}") == F.col(f"x.{FAMILY}"))
                                   & (F.col(f"f.{KEY}") == F.col(f"x.{KEY}")), "left")
    cols = [F.col(f"f.{c}") for c in flows_df.columns if not (added and c in (FAMILY, KEY))]
    cols += [F.col(f"x.{c}") if c in facts.columns else F.lit(None).alias(c) for c in OUTPUT_COLUMNS]
    return out.select(*cols)


# -- the rollups --------------------------------------------------------------------------------------------

def _present(df: DataFrame, names: tuple[str, ...]) -> list[str]:
    return [c for c in names if c in df.columns]


def destinations(enriched_df: DataFrame) -> DataFrame:
    """One row per destination address of an ``enrich`` result: the counters summed, first and last seen,
    the devices counted, and the address's facts."""
    F = functions()
    cols = enriched_df.columns
    facts = [c for c in OUTPUT_COLUMNS if c in cols]
    aggs = [F.sum(c).alias(c) for c in _present(enriched_df, _COUNTERS)]
    if "first_seen" in cols:
        aggs.append(F.min("first_seen").alias("first_seen"))
    if "last_seen" in cols:
        aggs.append(F.max("last_seen").alias("last_seen"))
    if "device" in cols:
        aggs.append(F.countDistinct("device").alias("devices"))
    aggs += [F.first(c, ignorenulls=True).alias(c) for c in facts]
    return enriched_df.groupBy("address").agg(*aggs).orderBy(F.desc("bytes_sent"), F.desc("bytes_received"), "address")


def _country_labels() -> Column:
    F = functions()
    from ipowner.reference.countries import country_names

    pairs = [x for code, name in sorted(country_names().items()) for x in (F.lit(code), F.lit(name))]
    return F.create_map(*pairs)


def rollup_keys(enriched_df: DataFrame) -> dict[str, tuple[Column, Column]]:
    """Per rollup group, the (key, label) column a destination counts under, as the report's rollups key
    them (reports/rollups.py), from the joined facts: "" and "unknown" where the fact is missing."""
    F = functions()
    names = _country_labels()
    country = F.upper(F.col("location_country"))
    anycast = F.coalesce(F.col("location_is_anycast"), F.lit(False))
    location_key = F.when(anycast, F.lit("anycast")).when(country.isNotNull(), country).otherwise(F.lit(""))
    location_label = (F.when(anycast, F.lit("anycast, no single location"))
                      .when(country.isNotNull(), F.coalesce(F.element_at(names, country), country))
                      .otherwise(F.lit("unknown")))
    holder_country = F.upper(F.col("holder_country"))
    has_holder = F.col("holder").isNotNull()
    hc_key = F.when(has_holder & holder_country.isNotNull(), holder_country).otherwise(F.lit(""))
    hc_label = F.when(hc_key != "", F.coalesce(F.element_at(names, hc_key), hc_key)).otherwise(F.lit("unknown"))
    asn = F.col("asn_number")
    as_key = F.when(asn.isNotNull(), F.concat(F.lit("AS"), asn.cast("string"))).otherwise(F.lit(""))
    as_label = F.when(asn.isNotNull(), F.concat_ws(" ", as_key, F.col("asn_name"))).otherwise(F.lit("unknown"))
    return {
        "location": (location_key, location_label),
        "holder_country": (hc_key, hc_label),
        "holder": (F.coalesce(F.col("holder"), F.lit("")), F.coalesce(F.col("holder"), F.lit("unknown"))),
        "asn": (as_key, as_label),
    }


def rollups(enriched_df: DataFrame) -> dict[str, DataFrame]:
    """The rollups of the internet destinations (rows whose ``scope`` is ``internet``, when the flows
    say): ``destination`` (``destinations``), then per group of ``rollup_keys`` one row per key with
    bytes sent and received, flows and destinations, ranked by bytes sent, then received, the unknown
    key last among equals (the report's order). A table without ``bytes_sent``, ``bytes_received`` or
    ``flows`` counts each row as one flow of no bytes."""
    F = functions()
    df = enriched_df
    for name, default in (("bytes_sent", 0), ("bytes_received", 0), ("flows", 1)):
        if name not in df.columns:  # a table without the counter: each row one flow, no bytes
            df = df.withColumn(name, F.lit(default).cast("long"))
    if "scope" in df.columns:
        df = df.where(F.col("scope") == "internet")
    out: dict[str, DataFrame] = {"destination": destinations(df)}
    for group, (key, label) in rollup_keys(df).items():
        rows = df.select(key.alias("key"), label.alias("label"), "address", "bytes_sent", "bytes_received", "flows")
        out[group] = (rows.groupBy("key").agg(F.first("label").alias("label"), F.sum("bytes_sent").alias("bytes_sent"),
                                              F.sum("bytes_received").alias("bytes_received"),
                                              F.sum("flows").alias("flows"),
                                              F.countDistinct("address").alias("destinations"))
                      .orderBy(F.desc("bytes_sent"), F.desc("bytes_received"), F.col("key") == "", "key"))
    return out


__all__ = [
    "INSTALL", "WIDE_LEVELS", "WIDE_SPAN", "address_facts", "bucket_of", "carried_ipv4_key",
    "destinations", "enrich", "fact_columns", "rollup_keys", "rollups", "segments", "with_address_key",
]
