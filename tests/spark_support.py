"""One local Spark session for the whole test run (not a test module).

Spark's JVM takes seconds to start, so every test that needs Spark shares one session, started on first
use and stopped when the run ends. It runs in local mode, bound to the loopback interface, with two
threads and few shuffle partitions (the machine is small). Without a Java runtime the Spark tests are
skipped, saying so; pyspark itself is a test dependency and must be installed.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
from typing import Any

import pytest

JAVA_MISSING = "Spark needs a Java 17+ runtime and none is installed (Debian: apt-get install default-jre-headless)"


def java_available() -> bool:
    home = os.environ.get("JAVA_HOME")
    return shutil.which("java") is not None or bool(home and os.path.exists(os.path.join(home, "bin", "java")))


@functools.cache
def _session() -> Any:
    from ipowner.engines.spark_submit import session

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # 2 GB for the driver: the job broadcasts the wide range table (with the cloud snapshot's ranges in it)
    spark = session("ipowner-tests", master="local[2]", partitions=4, driver_memory="2g")
    spark.sparkContext.setLogLevel("ERROR")
    atexit.register(spark.stop)
    return spark


def shared_session() -> Any:
    """The shared local Spark session (the tests using it are marked ``slow``); skips without Java."""
    if not java_available():
        pytest.skip(JAVA_MISSING)
    return _session()
