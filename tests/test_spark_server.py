"""The local Spark Thrift Server's class path lets Hive's function registry initialise.

Without the stand-in for hive-llap-common's ``LlapSigner.Signable`` (absent from pyspark's jars),
``FunctionRegistry``'s static initialiser fails, and the server's session close that triggers it
made dbt report a model as failed. Checked in a JVM with the server's own class path.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from balancewatch.spark_server import llap_stub, spark_home
from tests.conftest import ENGINES

pytestmark = pytest.mark.skipif("spark" not in ENGINES,
                                reason="BALANCEWATCH_TEST_ENGINES excludes spark")
CHECK = """public class Check { public static void main(String[] a) {
  try { Class.forName("org.apache.hadoop.hive.ql.exec.FunctionRegistry");
        System.out.println("ok"); }
  catch (Throwable t) { for (Throwable c = t; c != null; c = c.getCause()) System.out.println(c); }
}}
"""
OPENS = [f"--add-opens=java.base/{p}=ALL-UNNAMED" for p in ("java.net", "java.lang", "java.util")]


def _initialise(tmp_path: Path, extra: list[str]) -> str:
    (tmp_path / "Check.java").write_text(CHECK)
    subprocess.run([shutil.which("javac") or "javac", "-d", str(tmp_path),
                    str(tmp_path / "Check.java")], check=True)
    class_path = ":".join([str(tmp_path), *extra, str(spark_home() / "jars" / "*")])
    done = subprocess.run(["java", *OPENS, "-cp", class_path, "Check"], capture_output=True,
                          text=True, timeout=120)
    return done.stdout


def test_hive_function_registry_initialises_with_the_server_class_path(tmp_path: Path) -> None:
    assert _initialise(tmp_path, [str(llap_stub(tmp_path / "server"))]).strip() == "ok"
    # and the stand-in is what makes the difference (pyspark's jars alone fail)
    assert "LlapSigner$Signable" in _initialise(tmp_path, [])
