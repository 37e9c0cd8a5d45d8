"""The vendored Data Docs assets: pinned npm tarballs fetched and verified, GX's pages rewritten to
use them, and the pages working in headless Chromium with no network (styles, icons, a toggle)."""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import re
import select
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from monitors.docs.assets import (
    AssetError,
    fetch_assets,
    load_manifest,
    localize_site,
    npm_pack,
    offline_site,
    relabel_warning_only,
)
from monitors.docs.site import SITE_DIR, stored_results

EXTERNAL = re.compile(r"\b(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//", re.I)
LOCAL_REF = re.compile(r"\b(?:src|href)\s*=\s*\"([^\"#?]+)[^\"]*\"")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every pinned package, downloaded once for this module from the real npm registry."""
    return fetch_assets(tmp_path_factory.mktemp("assets"))


@pytest.fixture(scope="module")
def gx_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose Data Docs GX wrote: a warning-only run and a run with a critical failure."""
    pytest.importorskip("great_expectations")
    from balancewatch.settings import GX_DIR
    from monitors.gx_project.setup import _committed_files
    from tests.test_monitor_run import day, run, steady_invoices, write_warehouse

    root = tmp_path_factory.mktemp("docs")
    project = root / "project"
    for rel, path in _committed_files(GX_DIR).items():
        (project / "gx" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, project / "gx" / rel)
    swing = steady_invoices(5) + [(1, 101, day(5), "refunded", 9_000.0)]
    write_warehouse(root / "w.db", swing)
    with pytest.MonkeyPatch.context() as patch:  # GX's pages as GX writes them, even once the
        import monitors.gx_project.actions as actions  # docs action localizes them itself

        patch.setattr(actions, "offline_site", lambda *args, **kwargs: 0, raising=False)
        run(root / "w.db", project)  # a warning-only run (exit codes are not this file's business)
        conn = sqlite3.connect(root / "w.db")
        conn.execute("update stg_invoices set amount = -5 where rowid = 2")  # a critical failure
        conn.commit()
        conn.close()
        run(root / "w.db", project, full_check=True)  # the old row is only found by a full check
    return root / "w-docs"  # the warehouse's site


def _must_not_download(pkg: object) -> bytes:
    raise AssertionError(f"{pkg} is cached: nothing should be downloaded")


def test_fetch_unpacks_every_listed_file_and_a_second_fetch_needs_no_network(cache: Path):
    for pkg in load_manifest():
        folder = cache / pkg.key
        assert (folder / ".balancewatch-stamp.json").is_file(), pkg.key
        for pattern in pkg.files:
            assert list(folder.glob(pattern)), f"{pkg.key}: {pattern}"
        for rel in pkg.cdn.values():
            assert (folder / rel).is_file(), f"{pkg.key}: {rel}"
    fa = cache / "@fortawesome/fontawesome-free@6.6.0"
    assert (fa / "webfonts/fa-solid-900.woff2").is_file()
    fetch_assets(cache, download=_must_not_download)  # all cached: nothing fetched


def test_a_corrupt_tarball_fails_naming_the_package_and_caches_nothing(tmp_path: Path) -> None:
    with pytest.raises(AssetError) as caught:
        fetch_assets(tmp_path, download=lambda pkg: b"\x1f\x8b not really a tarball")
    first = load_manifest()[0]
    assert str(caught.value).startswith(f"{first.key}: ")
    assert "integrity check failed" in str(caught.value)
    assert not (tmp_path / first.key).exists()


def test_a_version_the_registry_does_not_have_fails_naming_the_package() -> None:
    first = load_manifest()[0]
    missing = dataclasses.replace(first, version="0.0.0-balancewatch-missing")
    with pytest.raises(AssetError) as caught:
        npm_pack(missing)
    assert str(caught.value).startswith(f"{missing.key}: npm pack failed")


def test_localized_pages_reference_only_local_files_and_a_second_run_changes_nothing(
        gx_site: Path, cache: Path, tmp_path: Path):
    site = shutil.copytree(gx_site / SITE_DIR, tmp_path / "site")
    pages = sorted(site.rglob("*.html"))
    assert any(EXTERNAL.search(p.read_text()) for p in pages)  # GX's pages as written
    ours = [site / "index.html", *sorted((site / "runs").glob("*.html"))]  # need no network
    assert localize_site(site, cache) == len(pages) - len(ours)  # every page GX wrote
    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    for page in pages:
        text = page.read_text()
        assert not EXTERNAL.search(text), page
        assert "newsletter" not in text and "integrity=" not in text
        for ref in LOCAL_REF.findall(text):
            assert (page.parent / ref.replace("%20", " ")).is_file(), f"{page}: {ref}"
    css = site / "static/vendor/@fortawesome/fontawesome-free@6.6.0/css/all.min.css"
    for font in re.findall(r"url\(([^)]+\.woff2)\)", css.read_text()):
        assert (css.parent / font).is_file(), font
    assert localize_site(site, cache) == 0
    assert {p: p.read_bytes() for p in site.rglob("*") if p.is_file()} == before


def test_relabel_warning_only_pages_and_leave_critical_ones_failed(gx_site: Path):
    runs = stored_results(gx_site)
    warn = next(r for r in runs if r.suite == "fact_daily_balance" and not r.critical_failed)
    bad = next(r for r in runs if r.critical_failed)
    assert warn.failed == 1 and not warn.success
    page = (gx_site / SITE_DIR / warn.page).read_text()
    status = '<span class="h6" >Status:</span> <i class="fas fa-times text-danger"'
    assert f'{status} aria-hidden="true"></i> Failed' in page  # how GX 1.24 says it
    relabeled = relabel_warning_only(page, warn.critical_failed, warn.failed)
    assert "Passed with 1 warning(s)" in relabeled and "</i> Failed" not in relabeled
    assert "fa-exclamation-triangle text-warning" in relabeled and status not in relabeled
    assert relabel_warning_only(relabeled, 0, 1) == relabeled
    critical = (gx_site / SITE_DIR / bad.page).read_text()
    assert relabel_warning_only(critical, bad.critical_failed, bad.failed) == critical
    assert relabel_warning_only(page, 1, 1) == page and relabel_warning_only(page, 0, 0) == page


PROBE = """(async () => {
  await document.fonts.ready;
  const style = (el, pseudo) => el ? getComputedStyle(el, pseudo || null) : {};
  const toggle = document.querySelector('a[data-toggle="collapse"]');
  const target = toggle && document.getElementById(toggle.getAttribute('href').slice(1));
  const closed = target ? target.offsetHeight : -1;
  if (toggle) toggle.click();
  await new Promise(done => setTimeout(done, 1200));
  const $ = window.jQuery;
  return {
    scripts: [typeof $, typeof ($ && $.fn.collapse), typeof ($ && $.fn.bootstrapTable),
              typeof ($ && $.fn.datepicker), typeof window.Popper, typeof window.vega,
              typeof window.vegaLite, typeof window.vegaEmbed],
    tables: document.querySelectorAll('.bootstrap-table').length,
    bodyMargin: style(document.body).marginTop, bodyFont: style(document.body).fontFamily,
    alertBg: style(document.querySelector('.alert-secondary')).backgroundColor,
    iconFont: style(document.querySelector('i.fas'), '::before').fontFamily,
    faces: [...document.fonts].filter(f => f.status === 'loaded').map(f => f.family),
    closed, opened: target ? target.offsetHeight : -1,
    shown: !!target && target.classList.contains('show'),
    text: document.body.innerText,
  };
})()"""


class Chromium:
    """Headless Chromium driven over ``--remote-debugging-pipe`` (CDP: NUL-ended JSON, fds 3/4)."""

    def __init__(self, binary: str, profile: Path) -> None:
        to_chrome, self._send = os.pipe()
        self._recv, from_chrome = os.pipe()
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_chrome, from_chrome)]
        for fd in (to_chrome, from_chrome):
            os.close(fd)

        def child_fds() -> None:
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        offline = ["unshare", "--net"] if _can_unshare_net() else []
        self.proc = subprocess.Popen(
            [*offline, binary, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-dev-shm-usage", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
             f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
            preexec_fn=child_fds, close_fds=False,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for fd in high:
            os.close(fd)
        self._buffer, self._id, self.events = b"", 0, []

    def _read(self) -> dict:
        while b"\0" not in self._buffer:
            if not select.select([self._recv], [], [], 60)[0]:
                raise TimeoutError("Chromium did not answer within 60 s")
            chunk = os.read(self._recv, 1 << 16)
            if not chunk:
                raise EOFError("Chromium closed its debugging pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        os.write(self._send, json.dumps(message | ({"sessionId": session} if session else {}))
                 .encode() + b"\0")
        while (reply := self._read()).get("id") != self._id:
            self.events.append(reply)
        assert "error" not in reply, f"{method}: {reply['error']}"
        return reply.get("result", {})

    def open(self, url: str, probe: str = PROBE, *, width: int | None = None,
             ) -> tuple[dict, list[str], list[str]]:
        """Load ``url`` in a new tab (``width`` px wide if given), run PROBE; returns its result,
        the URLs requested and the requests that failed."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"]
        if width is not None:
            self.send("Emulation.setDeviceMetricsOverride", {
                "width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
                session=session)
        self.send("Network.enable", session=session)
        self.send("Page.enable", session=session)
        self.events.clear()
        self.send("Page.navigate", {"url": url}, session=session)
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            self.events.append(self._read())
        probe = self.send("Runtime.evaluate", {"expression": probe, "awaitPromise": True,
                                               "returnByValue": True}, session)
        mine = [e for e in self.events if e.get("sessionId") == session]
        urls = {e["params"]["requestId"]: e["params"]["request"]["url"] for e in mine
                if e.get("method") == "Network.requestWillBeSent"}
        failed = [f"{urls.get(e['params']['requestId'])}: {e['params']['errorText']}"
                  for e in mine if e.get("method") == "Network.loadingFailed"]
        return probe["result"]["value"], sorted(set(urls.values())), failed

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (EOFError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self._send)
        os.close(self._recv)


def _can_unshare_net() -> bool:
    from tests.test_monitor_run import _can_unshare_net as can

    return can()


def test_localized_pages_render_styled_with_icons_and_toggles_without_network(
        gx_site: Path, cache: Path, tmp_path: Path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium not installed (CI installs it: scripts/ensure-system-packages.sh)")
    site = shutil.copytree(gx_site / SITE_DIR, tmp_path / "site")
    runs = [r for r in stored_results(gx_site) if r.suite == "fact_daily_balance"]
    warn = next(r for r in runs if not r.critical_failed)
    assert offline_site(site, runs, cache_dir=cache) > 0
    browser = Chromium(chromium, tmp_path / "profile")
    try:
        for page in (site / warn.page, site / "expectations/fact_daily_balance.html"):
            probe, requested, failed = browser.open(page.as_uri())
            if page.parent.name != "expectations":
                assert "Passed with 1 warning(s)" in probe["text"]
            assert requested and all(u.startswith(("file://", "data:")) for u in requested), \
                requested
            assert failed == [], failed
            # jQuery, collapse, bootstrapTable, datepicker, Popper; vega, vegaLite, vegaEmbed
            assert probe["scripts"] == ["function"] * 5 + ["object", "object", "function"]
            assert probe["tables"] > 0  # bootstrap-table wrapped GX's data-toggle="table"
            assert probe["bodyMargin"] == "0px" and "-apple-system" in probe["bodyFont"]
            assert probe["alertBg"] == "rgb(226, 227, 229)"  # bootstrap's .alert-secondary
            assert "Font Awesome 6 Free" in probe["iconFont"]
            assert "Font Awesome 6 Free" in probe["faces"]  # the webfont file loaded
            assert probe["closed"] == 0 and probe["opened"] > 0 and probe["shown"], probe
    finally:
        browser.close()
