"""Data Docs assets vendored from npm, so every page of the site works with no network.

GX 1.24's validation and expectation pages load Bootstrap, jQuery, Font Awesome, bootstrap-table,
Vega... from CDNs. ``assets.lock.json`` pins each npm package (version, the registry's sha512
``integrity``, tarball path, files used, the CDN URLs GX writes for them). :func:`fetch_assets`
fills a verified cache once; :func:`localize_site` vendors the files into ``static/vendor/`` and
points every page at them; :func:`relabel_warning_only` says "Passed with N warning(s)" where GX
says "Failed"; :func:`offline_site` does it all after GX wrote the site.

May import: the standard library only.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol
from urllib.parse import quote

LOCK_FILE = Path(__file__).with_name("assets.lock.json")
CACHE_ENV = "BALANCEWATCH_DOCS_ASSETS"
STAMP = ".balancewatch-stamp.json"
VENDOR = PurePosixPath("static/vendor")
LOGO = "balancewatch-logo.svg"
LOGO_HOST = "great-expectations-web-assets."  # GX's logos (an <img> and a dark-mode CSS url())
LOGO_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="229" height="50" viewBox="0 0 229 50">
<text x="4" y="34" font-family="system-ui, sans-serif" font-size="28" font-weight="700"
 fill="#ff6210">balance<tspan fill="#6c757d">watch</tspan></text></svg>
"""
FOOTER = "<p>balancewatch Data Docs: this page needs no network.</p>"


class AssetError(RuntimeError):
    """A package could not be downloaded, verified, unpacked or found in the cache."""


@dataclass(frozen=True, eq=False)
class Package:
    """One pinned npm package: which files of its tarball are used, and for which CDN URLs."""
    name: str
    version: str
    integrity: str  # the registry's dist.integrity, "sha512-<base64>"
    tarball: str  # path of the tarball on the registry
    files: tuple[str, ...]  # paths inside the package (fnmatch patterns), each must match
    cdn: dict[str, str]  # CDN URL in GX's pages -> the file that replaces it

    @property
    def key(self) -> str:  # its folder in the cache and under static/vendor/
        return f"{self.name}@{self.version}"


class RunPage(Protocol):  # what offline_site needs of a run: monitors.docs.site.RunEntry fits
    page: str
    failed: int
    critical_failed: int


def load_manifest(path: Path = LOCK_FILE) -> list[Package]:
    """The pinned packages of ``assets.lock.json``."""
    return [Package(p["name"], p["version"], p["integrity"], p["tarball"], tuple(p["files"]),
                    dict(p.get("cdn", {}))) for p in json.loads(path.read_text())["packages"]]


def default_cache_dir() -> Path:
    """``$BALANCEWATCH_DOCS_ASSETS``, else beside the installed packages (the virtualenv's
    ``share/balancewatch/docs-assets``, filled when ``make`` sets the virtualenv up)."""
    return Path(os.environ.get(CACHE_ENV) or Path(sys.prefix) / "share/balancewatch/docs-assets")


def _stamp(folder: Path) -> dict:
    try:
        return json.loads((folder / STAMP).read_text())
    except (OSError, ValueError):
        return {}


def is_cached(cache_dir: Path, pkg: Package) -> bool:
    """True when the package's files are in the cache, as unpacked from the verified tarball."""
    stamp = _stamp(folder := cache_dir / pkg.key)
    if stamp.get("integrity") != pkg.integrity or stamp.get("patterns") != list(pkg.files):
        return False
    files = stamp.get("files") or {}
    return bool(files) and all((folder / rel).is_file() and hashlib.sha256(
        (folder / rel).read_bytes()).hexdigest() == digest for rel, digest in files.items())


Download = Callable[[Package], bytes]


def npm_pack(pkg: Package) -> bytes:
    """The package's tarball, fetched by ``npm pack`` from the registry npm is configured for."""
    npm = shutil.which("npm")
    if npm is None:
        raise AssetError(f"{pkg.key}: npm is not installed (Debian: apt-get install -y npm)")
    with tempfile.TemporaryDirectory(prefix="bw-npm-") as tmp:
        done = subprocess.run(
            [npm, "pack", f"{pkg.name}@{pkg.version}", "--pack-destination", tmp, "--json",
             "--silent", "--ignore-scripts"],
            capture_output=True, text=True, timeout=300,
        )
        tarballs = list(Path(tmp).glob("*.tgz"))
        if done.returncode != 0 or len(tarballs) != 1:
            detail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no tarball"]
            raise AssetError(f"{pkg.key}: npm pack failed: {detail[0]}")
        return tarballs[0].read_bytes()


def _verified(pkg: Package, data: bytes) -> bytes:
    actual = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if actual != pkg.integrity:  # the lock holds sha512 integrities only
        raise AssetError(f"{pkg.key}: integrity check failed: expected {pkg.integrity}, "
                         f"got {actual} ({len(data)} bytes)")
    return data


def _unpack(cache_dir: Path, pkg: Package, data: bytes) -> None:
    """Write the listed files of the tarball to ``cache_dir/name@version/`` with a stamp."""
    wanted: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar:
                rel = "/".join(PurePosixPath(member.name).parts[1:])  # npm: package/...
                if member.isfile() and ".." not in rel.split("/") and any(
                        fnmatch.fnmatchcase(rel, p) for p in pkg.files):
                    wanted[rel] = (tar.extractfile(member) or io.BytesIO()).read()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise AssetError(f"{pkg.key}: tarball could not be unpacked: {exc}") from exc
    missing = [p for p in pkg.files if not any(fnmatch.fnmatchcase(r, p) for r in wanted)]
    if missing:
        raise AssetError(f"{pkg.key}: tarball has no {', '.join(missing)}")
    tmp = cache_dir / f".{pkg.key.replace('/', '__')}.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    for rel, body in wanted.items():
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp / rel).write_bytes(body)
    files = {rel: hashlib.sha256(body).hexdigest() for rel, body in sorted(wanted.items())}
    (tmp / STAMP).write_text(json.dumps({"package": pkg.key, "integrity": pkg.integrity,
                                         "patterns": list(pkg.files), "files": files}, indent=1))
    shutil.rmtree(target := cache_dir / pkg.key, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp.rename(target)


def fetch_package(cache_dir: Path, pkg: Package, download: Download = npm_pack) -> int:
    """Download, verify and unpack one package unless cached; returns the bytes downloaded."""
    cache_dir = Path(cache_dir)
    if is_cached(cache_dir, pkg):
        return 0
    data = _verified(pkg, download(pkg))
    _unpack(cache_dir, pkg, data)
    return len(data)


def fetch_assets(cache_dir: Path, download: Download = npm_pack) -> Path:
    """Fill ``cache_dir`` with every pinned package (``npm pack`` by default); returns it."""
    for pkg in load_manifest():
        fetch_package(cache_dir, pkg, download)
    return Path(cache_dir)


_NEWSLETTER = re.compile(
    r"<p>[^<]*<a\b[^>]*\bhref=[\"']https?://[^\"']*newsletter[^>]*>.*?</a>\s*</p>", re.I | re.S)
_TAG = re.compile(r"<[a-zA-Z][^<>]*>")
_ATTR = re.compile(r"(\s)(src|href)(\s*=\s*)([\"'])\s*((?:https?:)?//[^\"']*)\4", re.I)
_SRI = re.compile(r"\s(?:integrity|crossorigin)(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?", re.I)
_CSS_URL = re.compile(r"url\(\s*([\"']?)((?:https?:)?//[^\"')\s]*)\1\s*\)", re.I)


def localize_page(text: str, resolve: Callable[[str], str | None]) -> str:
    """``text`` with every external src/href and CSS url() replaced by ``resolve(url)`` (a
    relative path); an URL it does not know is dropped (logged), the newsletter form removed."""
    text = _NEWSLETTER.sub(FOOTER, text)

    def attr(m: re.Match[str]) -> str:
        space, name, equals, quote_, url = m.groups()
        local = resolve(url)
        if local is None:  # kept, without a scheme, in an attribute no browser follows
            logging.getLogger(__name__).warning("Data Docs: no local copy of %s: link removed", url)
            return f"{space}data-offline-{name.lower()}={quote_}{url.split('//', 1)[1]}{quote_}"
        return f"{space}{name}{equals}{quote_}{local}{quote_}"

    def tag(m: re.Match[str]) -> str:
        new = _ATTR.sub(attr, m.group(0))  # SRI + crossorigin make a CORS request, which
        return _SRI.sub("", new) if new != m.group(0) else new  # file:// fails: drop them

    def css(m: re.Match[str]) -> str:
        local = resolve(m.group(2))
        return f"url('{local}')" if local else "none"

    return _CSS_URL.sub(css, _TAG.sub(tag, text))


def _write_if_changed(dst: Path, data: bytes) -> None:
    if not dst.is_file() or dst.read_bytes() != data:
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(data)


_STATIC_REF = re.compile(r"(\s(?:src|href)\s*=\s*[\"'])((?:\.\./)+)(static/[^\"'?#]+)")


def _repair(m: re.Match[str], page: Path, site_dir: Path) -> str:
    """A ``static/`` link that misses its folder (GX's validation pages point their favicon one
    level too high) is pointed at the site's ``static/``."""
    if (page.parent / m.group(2) / m.group(3)).exists() or not (site_dir / m.group(3)).is_file():
        return m.group(0)
    return m.group(1) + Path(os.path.relpath(site_dir / m.group(3), page.parent)).as_posix()


def _localize(site_dir: Path, cache_dir: Path, runs: Iterable[RunPage] = ()) -> set[Path]:
    vendor = Path(site_dir) / VENDOR
    counts = {Path(site_dir) / r.page: (r.critical_failed, r.failed) for r in runs}
    targets: dict[str, Path] = {}
    for pkg in load_manifest():
        if not is_cached(cache_dir, pkg):
            raise AssetError(f"{pkg.key}: not in the asset cache {cache_dir} (fill it with: "
                             f"python -m monitors.docs.assets {cache_dir})")
        for rel in _stamp(cache_dir / pkg.key)["files"]:
            _write_if_changed(vendor / pkg.key / rel, (cache_dir / pkg.key / rel).read_bytes())
        targets.update({url: vendor / pkg.key / rel for url, rel in pkg.cdn.items()})
    _write_if_changed(logo := vendor / LOGO, LOGO_SVG.encode())
    changed = set()
    for page in sorted(Path(site_dir).rglob("*.html")):

        def resolve(url: str, folder: Path = page.parent) -> str | None:
            url = "https:" + url if url.startswith("//") else url
            target = targets.get(url) or targets.get(re.split(r"[?#]", url)[0])
            if target is None and LOGO_HOST in url.split("/")[2]:
                target = logo
            return quote(Path(os.path.relpath(target, folder)).as_posix(), safe="/@") \
                if target else None

        text = page.read_text(encoding="utf-8")
        new = _STATIC_REF.sub(lambda m, p=page: _repair(m, p, Path(site_dir)),
                              localize_page(text, resolve))
        new = relabel_warning_only(new, *counts[page]) if page in counts else new
        if new != text:
            page.write_text(new, encoding="utf-8")
            changed.add(page)
    return changed


def localize_site(site_dir: Path, cache_dir: Path) -> int:
    """Vendor the cached assets into ``site_dir/static/vendor/`` and point every page's CDN
    URLs at them (relative to each page); returns the number of pages rewritten."""
    return len(_localize(site_dir, cache_dir))


_STATUS = re.compile(
    r"(<span class=\"h6\"\s*>Status:</span>\s*)"
    r"<i class=\"fas fa-times text-danger\" aria-hidden=\"true\"></i>(\s*)Failed")
_WARNING_ICON = '<i class="fas fa-exclamation-triangle text-warning" aria-hidden="true"></i>'


def relabel_warning_only(page_html: str, critical_failed: int, failed: int) -> str:
    """A validation page whose failures were all warnings (or info): "Passed with N warning(s)"
    and a warning icon instead of GX's "Failed" and red cross; any other page unchanged."""
    if critical_failed or failed <= 0:
        return page_html
    label = f"Passed with {failed} warning(s)"
    return _STATUS.sub(lambda m: f"{m.group(1)}{_WARNING_ICON}{m.group(2)}{label}", page_html,
                       count=1)


def offline_site(site_dir: Path, runs: Iterable[RunPage] = (),
                 cache_dir: Path | None = None) -> int:
    """After GX wrote the site: fill the cache (no network once filled), localize every page and
    relabel the pages of warning-only ``runs``; returns the number of pages changed."""
    return len(_localize(site_dir, fetch_assets(cache_dir or default_cache_dir()), runs))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m monitors.docs.assets [CACHE_DIR]``: fetch every pinned package (set-up)."""
    args = list(sys.argv[1:] if argv is None else argv)
    cache = Path(args[0]) if args else default_cache_dir()
    try:
        fetched = [fetch_package(cache, pkg) for pkg in load_manifest()]
    except AssetError as exc:
        print(f"docs assets: {exc}", file=sys.stderr)
        return 1
    print(f"docs assets: {len(fetched)} packages in {cache} ({sum(fetched):,} bytes downloaded)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
