"""The test session's one Spark Thrift Server (started on first use, stopped at the end).

Its own module, always imported as ``tests.spark_session``: pytest loads conftest.py as
``conftest`` while the tests import ``tests.conftest``, two module objects, so state kept in
conftest itself would not be seen by the fixture that stops the server.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_spark: dict[str, object] = {}


def spark_server_url() -> str:
    """``spark://127.0.0.1:PORT`` of the session's Spark Thrift Server (started on first use; a
    start that failed fails every later Spark test at once instead of starting another JVM).
    ``$BALANCEWATCH_TEST_SPARK=spark://host:port`` uses a running server instead."""
    if os.environ.get("BALANCEWATCH_TEST_SPARK"):
        return os.environ["BALANCEWATCH_TEST_SPARK"].rstrip("/")
    if "error" in _spark:
        pytest.fail(str(_spark["error"]))
    if "url" not in _spark:
        from balancewatch.spark_server import SparkServer, SparkServerError, free_port

        server = SparkServer(Path(tempfile.mkdtemp(prefix="balancewatch-test-spark-")), free_port())
        _spark["server"] = server
        try:
            server.start()
        except SparkServerError as exc:
            _spark["error"] = f"could not start the test Spark Thrift Server: {exc}"
            pytest.fail(str(_spark["error"]))
        _spark["url"] = f"spark://127.0.0.1:{server.port}"
    return str(_spark["url"])


def stop_spark_server() -> None:
    """Stop the server this session started (if any) and remove its folder."""
    server = _spark.pop("server", None)
    _spark.pop("url", None)
    if server is not None:
        from balancewatch.spark_server import SparkServer

        assert isinstance(server, SparkServer)
        server.stop()
        shutil.rmtree(server.folder, ignore_errors=True)
