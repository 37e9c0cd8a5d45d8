"""A local Spark Thrift Server for the Spark engine: start it, wait until it answers, stop it.

``make spark`` / ``make spark-stop`` and the tests' session fixture use this module. The server is
pyspark's own ``spark-submit`` running ``HiveThriftServer2`` on ``local[2]`` and bound to
127.0.0.1; everything it writes (Derby metastore, table files, ``derby.log``, its log and pid
file) stays under one folder, ``warehouse/spark`` by default (git-ignored). One process owns a
Derby metastore at a time, so the server is the only thing that opens it: every client (the
loader, dbt, GX) talks to it over Thrift.

pyspark's jars lack hive-llap-common, yet Hive's ``FunctionRegistry`` needs one of its interfaces
(``LlapSigner.Signable``) to initialise; the server initialises it when it closes a session on a
Thrift worker thread that has no Hive client yet, and without the interface that close fails
(``NoClassDefFoundError``), which dbt reports as a failed model. The server therefore starts with
a stand-in for that one empty interface, compiled once into its folder (``javac``, part of the
JDK).

Imports only the standard library (pyspark is located, not imported).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DIR = Path("warehouse/spark")
DEFAULT_PORT = 10000
DEFAULT_DATABASE = "balancewatch"
START_TIMEOUT_S = 180.0


class SparkServerError(Exception):
    """The server could not be started (no pyspark, no Java, it exited, or it never answered)."""


@dataclass(frozen=True)
class SparkServer:
    """A local Thrift Server: its folder (metastore, tables, log, pid) and its port."""

    folder: Path
    port: int = DEFAULT_PORT
    host: str = "127.0.0.1"

    @property
    def pid_file(self) -> Path:
        return self.folder / "server.pid"

    @property
    def log_file(self) -> Path:
        return self.folder / "server.log"

    def url(self, database: str = DEFAULT_DATABASE) -> str:
        """The ``--warehouse`` setting that selects this server."""
        return f"spark://{self.host}:{self.port}/{database}"

    def pid(self) -> int | None:
        """The running server's pid (None when it is not running)."""
        try:
            pid = int(self.pid_file.read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def answers(self) -> bool:
        """Whether the port accepts connections."""
        try:
            with socket.create_connection((self.host, self.port), timeout=1):
                return True
        except OSError:
            return False

    def start(self, *, timeout: float = START_TIMEOUT_S) -> str:
        """Start the server (or find it running) and wait until it answers; returns its URL."""
        if self.pid() is not None and self.answers():
            return self.url()
        if self.answers():
            raise SparkServerError(f"port {self.port} is taken by another program")
        self.folder.mkdir(parents=True, exist_ok=True)
        folder = self.folder.resolve()
        with self.log_file.open("wb") as log:
            process = subprocess.Popen(
                _command(folder, self.host, self.port), stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, cwd=folder, start_new_session=True,
                env={**os.environ, "SPARK_LOCAL_IP": self.host, "PYSPARK_PYTHON": sys.executable},
            )
        self.pid_file.write_text(f"{process.pid}\n")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SparkServerError(
                    f"the Spark Thrift Server exited with status {process.returncode}; "
                    f"see {self.log_file}"
                )
            if self.answers() and _answers_sql(self.host, self.port):
                return self.url()
            time.sleep(0.5)
        self.stop()
        raise SparkServerError(f"the Spark Thrift Server did not answer in {timeout:.0f} s; "
                               f"see {self.log_file}")

    def stop(self, *, timeout: float = 30.0) -> bool:
        """Stop the server; False when none was running."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.pid() is not None:
            _reap(pid)
            time.sleep(0.2)
        if self.pid() is not None:
            os.killpg(pid, signal.SIGKILL)
            _reap(pid)
        self.pid_file.unlink(missing_ok=True)
        return True


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now (for a server started right after: tests, the bench)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def spark_home() -> Path:
    """pyspark's installed folder (its ``bin/spark-submit`` and ``jars/``)."""
    found = importlib.util.find_spec("pyspark")
    if found is None or found.origin is None:
        raise SparkServerError(
            "pyspark is not installed: `make spark` installs the Spark extra "
            "(pip install -e '.[spark]')"
        )
    return Path(found.origin).parent


_LLAP_STUB = """package org.apache.hadoop.hive.llap.security;

/** A stand-in for hive-llap-common's interface (see balancewatch/spark_server.py). */
public interface LlapSigner {
    interface Signable {}
}
"""


def llap_stub(folder: Path) -> Path:
    """The compiled stand-in for ``LlapSigner`` (a class-path folder), built once."""
    classes = folder / "llap-stub"
    if (classes / "org/apache/hadoop/hive/llap/security/LlapSigner$Signable.class").is_file():
        return classes
    source = folder / "llap-stub-src" / "LlapSigner.java"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text(_LLAP_STUB)
    javac = shutil.which("javac")
    if javac is None:
        raise SparkServerError("javac (a JDK 17) is needed to start the Spark Thrift Server: "
                               "apt-get install openjdk-17-jdk-headless")
    done = subprocess.run([javac, "-d", str(classes), str(source)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SparkServerError(f"javac failed: {done.stderr.strip()[:300]}")
    return classes


def _command(folder: Path, host: str, port: int) -> list[str]:
    metastore = folder / "metastore_db"
    java_options = f"-Dderby.system.home={folder} -Djava.io.tmpdir={folder / 'tmp'}"
    (folder / "tmp").mkdir(exist_ok=True)
    return [
        str(spark_home() / "bin" / "spark-submit"),
        "--master", "local[2]",
        "--driver-class-path", str(llap_stub(folder)),
        "--class", "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2",
        "--name", "balancewatch-thrift",
        "--driver-memory", os.environ.get("BALANCEWATCH_SPARK_MEMORY", "2g"),
        "--driver-java-options", java_options,
        "--conf", f"spark.sql.warehouse.dir={folder / 'tables'}",
        "--conf", f"spark.hadoop.javax.jdo.option.ConnectionURL="
                  f"jdbc:derby:;databaseName={metastore};create=true",
        "--conf", "spark.sql.shuffle.partitions=4",
        "--conf", "spark.ui.enabled=false",
        "--conf", "spark.sql.sources.partitionOverwriteMode=dynamic",
        "--conf", "spark.sql.session.timeZone=UTC",
        "--hiveconf", f"hive.server2.thrift.bind.host={host}",
        "--hiveconf", f"hive.server2.thrift.port={port}",
        "spark-internal",
    ]


def _answers_sql(host: str, port: int) -> bool:
    try:
        from pyhive import hive

        conn = hive.connect(host=host, port=port, username="balancewatch")
        try:
            cursor = conn.cursor()
            cursor.execute("select 1")
            return cursor.fetchall() == [(1,)]
        finally:
            conn.close()
    except Exception:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m balancewatch.spark_server",
                                     description="Start or stop a local Spark Thrift Server.")
    parser.add_argument("action", choices=("start", "stop", "status"))
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR,
                        help=f"its metastore, tables and log (default {DEFAULT_DIR})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    server = SparkServer(args.dir, args.port)
    try:
        if args.action == "start":
            started = time.perf_counter()
            print(f"starting a Spark Thrift Server on 127.0.0.1:{args.port} "
                  f"(metastore and tables in {args.dir}) ...", flush=True)
            url = server.start()
            print(f"Spark answers after {time.perf_counter() - started:.1f} s: "
                  f"make pipeline WAREHOUSE={url}")
        elif args.action == "stop":
            print("stopped" if server.stop() else "no Spark Thrift Server was running")
        else:
            running = server.pid() is not None and server.answers()
            print(f"running: {server.url()}" if running else "not running")
            return 0 if running else 1
    except SparkServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
