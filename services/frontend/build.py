#!/usr/bin/env python3
"""Build the static site: content-hash the assets, rewrite index.html, plan the S3 upload.

`python services/frontend/build.py [--src DIR] [--out DIR]` writes dist/. `deploy.py --publish
frontend` loads this file by path (it is not an installed package) and calls `source_files()`,
`build()`, `upload_plan()` and `invalidation_paths()`. Stdlib only, so the build needs nothing
but the interpreter.

Only the site's own files are built: dotfiles and dot-folders (`.env`, `.git/`) are skipped, and
a symbolic link that leaves the source folder stops the build, so nothing outside it is ever
published. The build also writes `config.json`, the runtime settings the page reads (sign-in).

No `from __future__ import annotations` here: a module loaded by path is not in sys.modules,
and dataclasses look string annotations up there.
"""

import argparse
import hashlib
import json
import os
import posixpath
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
DEFAULT_SRC = HERE / "src"
DEFAULT_DIST = HERE / "dist"

HASH_LEN = 8
# A hashed asset's name: stem, eight hex digits, extension. Only these may be cached forever,
# because a content change always produces a new name.
HASHED_NAME = re.compile(rf"^.+\.[0-9a-f]{{{HASH_LEN}}}\.[A-Za-z0-9]+$")
# Pages are rewritten, never renamed: their URLs are what visitors and CloudFront ask for.
PAGE_SUFFIXES = frozenset({".html"})
# The attribute values in a page that can point at a local asset.
ASSET_REF = re.compile(r'(?P<attr>\b(?:src|href))="(?P<url>[^"#?:]+)"')

# Runtime settings, written by the build (never hashed: the page asks for this exact name).
CONFIG_NAME = "config.json"
# The page's own CSP meta tag: its connect-src gains the identity provider's origins.
CSP_CONNECT = re.compile(r"""(<meta\s+http-equiv="Content-Security-Policy"\s+content="[^"]*?connect-src 'self')""")
ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]+)?$|^https?://\[[0-9A-Fa-f:.]+\](:[0-9]+)?$")

IMMUTABLE = "public, max-age=31536000, immutable"
# Browsers and CloudFront must revalidate these, or a deploy leaves visitors on the old page.
REVALIDATE = "no-cache"

# Fixed here rather than taken from `mimetypes`, whose answers depend on the host's
# /etc/mime.types (S3 serves whatever Content-Type we upload, forever).
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
}
DEFAULT_CONTENT_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class UploadItem:
    key: str
    path: Path
    content_type: str
    cache_control: str


def hashed_name(name: str, data: bytes) -> str:
    """`app.js` -> `app.<first 8 hex of sha256>.js`."""
    stem, dot, ext = name.rpartition(".")
    digest = hashlib.sha256(data).hexdigest()[:HASH_LEN]
    return f"{stem}.{digest}.{ext}" if dot else f"{name}.{digest}"


def resolve_ref(page: str, url: str) -> str:
    """The site path a page's `src`/`href` value points at (`/x` is root-relative, `x` page-relative)."""
    if url.startswith("/"):
        return posixpath.normpath(url.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(page), url))


def rewrite_refs(page: str, html: str, renames: dict[str, str]) -> str:
    """Swap the file name in every reference to a renamed asset; the URL's form is kept."""

    def swap(m: re.Match[str]) -> str:
        url = m.group("url")
        new = renames.get(resolve_ref(page, url))
        if new is None:
            return m.group(0)
        head = url[: len(url) - len(posixpath.basename(url))]
        return f'{m.group("attr")}="{head}{posixpath.basename(new)}"'

    return ASSET_REF.sub(swap, html)


def asset_refs(page: str, html: str) -> list[str]:
    """The site paths of the local files a page refers to."""
    return [resolve_ref(page, m.group("url")) for m in ASSET_REF.finditer(html)]


def _check_link(root: Path, path: Path) -> None:
    target = path.resolve()
    if not target.is_relative_to(root):
        raise ValueError(f"{path.relative_to(root).as_posix()} is a symbolic link that leaves the site folder "
                         f"(to {target}) — replace it with a copy of what it points at")
    if not target.exists():
        raise ValueError(f"{path.relative_to(root).as_posix()} is a broken symbolic link — remove it")


def source_files(src: Path) -> tuple[list[Path], list[str]]:
    """(files to build, skipped dotfile paths) under `src`; a link that leaves `src` is a ValueError."""
    root = src.resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"no .html page under {src} (not a folder)")
    files: list[Path] = []
    skipped: list[str] = []
    # Links inside the folder are followed (their targets are checked first); a link back to a
    # folder it sits in is not, or the walk would go round in circles.
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        here = Path(dirpath)
        if here.resolve() in {p.resolve() for p in here.parents if p.is_relative_to(root)}:
            dirnames[:] = []
            continue
        for name in sorted(dirnames + filenames):
            path = here / name
            if name.startswith("."):
                skipped.append(path.relative_to(root).as_posix() + ("/" if name in dirnames else ""))
            elif path.is_symlink():
                _check_link(root, path)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        files += [here / n for n in filenames if not n.startswith(".") and (here / n).is_file()]
    return sorted(files), sorted(skipped)


def connect_origins(config: dict) -> list[str]:
    """The origins the page fetches from besides its own: the token endpoint's, and the issuer's
    when its discovery document supplies an endpoint config.json does not name."""
    auth = config.get("auth") or {}
    urls = [auth.get("tokenUrl") or auth.get("issuer")]
    if auth and not (auth.get("authorizeUrl") and auth.get("tokenUrl")):
        urls.append(auth.get("issuer"))
    origins = []
    for url in filter(None, urls):
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if not ORIGIN.match(origin):
            raise ValueError(f"sign-in URL {url!r} has no plain http(s) origin")
        if origin not in origins:
            origins.append(origin)
    return origins


def allow_connect(html: str, origins: list[str]) -> str:
    """Add `origins` to the connect-src of the page's CSP meta tag (the header CSP needs them too)."""
    if not origins:
        return html
    return CSP_CONNECT.sub(lambda m: m.group(1) + "".join(" " + o for o in origins), html)


def build(src: Path = DEFAULT_SRC, dist: Path = DEFAULT_DIST, config: dict | None = None) -> list[Path]:
    """Write the site and its config.json (default: sign-in off) to `dist`, emptied first; return
    the written files, sorted."""
    config = {"auth": None} if config is None else config
    src, dist = src.resolve(), dist.resolve()
    # dist/ is deleted before each build: refuse any layout where that would delete the sources.
    if dist == src or src.is_relative_to(dist) or dist.is_relative_to(src):
        raise ValueError(f"output {dist} must be outside the sources {src} (and not contain them)")
    files, _ = source_files(src)
    if not any(p.suffix in PAGE_SUFFIXES for p in files):
        raise FileNotFoundError(f"no .html page under {src}")
    if src / CONFIG_NAME in files:
        raise ValueError(f"{CONFIG_NAME} in {src} would be replaced: the build writes it — remove it from the sources")
    origins = connect_origins(config)
    renames = {
        rel.as_posix(): rel.with_name(hashed_name(p.name, p.read_bytes())).as_posix()
        for p in files
        if p.suffix not in PAGE_SUFFIXES
        for rel in [p.relative_to(src)]
    }
    # Emptied rather than merged so a renamed asset never leaves its old hash behind in dist/.
    if dist.exists():
        shutil.rmtree(dist)
    written = []
    for p in files:
        rel = p.relative_to(src).as_posix()
        out = dist / renames.get(rel, rel)
        out.parent.mkdir(parents=True, exist_ok=True)
        if p.suffix in PAGE_SUFFIXES:
            html = rewrite_refs(rel, p.read_text(encoding="utf-8"), renames)
            out.write_text(allow_connect(html, origins), encoding="utf-8")
        else:
            out.write_bytes(p.read_bytes())
        written.append(out)
    settings = dist / CONFIG_NAME
    settings.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return sorted([*written, settings])


def upload_plan(dist: Path = DEFAULT_DIST) -> list[UploadItem]:
    """What to put in the bucket, hashed assets first and pages last.

    The order matters while an upload is in progress: a visitor who fetches the new
    index.html must find the assets it names already there.
    """
    items = [
        UploadItem(
            key=p.relative_to(dist).as_posix(),
            path=p,
            content_type=CONTENT_TYPES.get(p.suffix.lower(), DEFAULT_CONTENT_TYPE),
            cache_control=IMMUTABLE if HASHED_NAME.match(p.name) else REVALIDATE,
        )
        for p in sorted(dist.rglob("*"))
        # Only what the build wrote: never a dotfile or a link someone left in an output folder.
        if p.is_file() and not p.is_symlink() and not any(part.startswith(".") for part in p.relative_to(dist).parts)
    ]
    if not items:
        raise FileNotFoundError(f"nothing to upload: {dist} is empty or missing (run the build first)")
    return sorted(items, key=lambda i: (i.cache_control != IMMUTABLE, i.key))


def invalidation_paths(plan: list[UploadItem]) -> list[str]:
    """CloudFront paths to invalidate: only the revalidated files; hashed names are new URLs."""
    paths = sorted("/" + i.key for i in plan if i.cache_control != IMMUTABLE)
    # The distribution's default root object is served at "/" too, under its own cache key.
    return (["/"] if "/index.html" in paths else []) + paths


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Build the static site into dist/ with content-hashed assets.")
    p.add_argument("--src", type=Path, default=DEFAULT_SRC, help="source directory (default: src/)")
    p.add_argument("--out", type=Path, default=DEFAULT_DIST, help="output, emptied first (default: dist/)")
    args = p.parse_args(argv)
    try:
        build(args.src, args.out)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for item in upload_plan(args.out):
        print(f"{item.key:32} {item.content_type:32} {item.cache_control}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
