"""The static site's build: hashed asset names, rewritten references, and the S3 upload plan."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest
from frontend_support import Reply, Seen, run_tab, serve_site

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "services" / "frontend"


def load_module() -> ModuleType:
    """build.py is a script, not a package: load it by path exactly as deployer/commands/publish.py does
    (without registering it in sys.modules, so a change that needs that fails here first)."""
    spec = importlib.util.spec_from_file_location("frontend_build", SITE / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fb = load_module()


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    out = tmp_path / "dist"
    fb.build(fb.DEFAULT_SRC, out)
    return out


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in directory.rglob("*") if p.is_file()}


def test_build_is_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    fb.build(fb.DEFAULT_SRC, first)
    fb.build(fb.DEFAULT_SRC, second)
    assert snapshot(first) == snapshot(second)
    fb.build(fb.DEFAULT_SRC, first)  # rebuilding in place changes nothing either
    assert snapshot(first) == snapshot(second)


def test_assets_get_content_hashed_names(dist: Path) -> None:
    names = sorted(p.name for p in dist.iterdir())
    assert len(names) == 5
    assert re.fullmatch(r"app\.[0-9a-f]{8}\.js", names[0]) and re.fullmatch(r"auth\.[0-9a-f]{8}\.js", names[1])
    assert names[2:4] == ["config.json", "index.html"]  # named as the page asks for them
    assert re.fullmatch(r"styles\.[0-9a-f]{8}\.css", names[4])
    assert names[0] == fb.hashed_name("app.js", (fb.DEFAULT_SRC / "app.js").read_bytes())
    assert json.loads((dist / "config.json").read_text()) == {"auth": None}


def test_index_references_the_hashed_assets_and_they_exist(dist: Path) -> None:
    html = (dist / "index.html").read_text(encoding="utf-8")
    refs = fb.asset_refs("index.html", html)
    hashed = sorted(p.name for p in dist.iterdir() if p.name not in ("index.html", "config.json"))
    assert sorted(refs) == hashed
    for ref in refs:
        assert (dist / ref).is_file(), ref
    assert 'src="app.js"' not in html and 'href="styles.css"' not in html


def test_content_change_changes_only_that_name(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(fb.DEFAULT_SRC, src)
    before = {p.name for p in fb.build(src, tmp_path / "d1")}
    with (src / "styles.css").open("a", encoding="utf-8") as f:
        f.write("\n/* changed */\n")
    after = {p.name for p in fb.build(src, tmp_path / "d2")}
    assert {n for n in before ^ after if n.startswith("styles.")} and len(before ^ after) == 2
    assert not {n for n in before ^ after if n.startswith("app.")}


def test_rebuild_removes_stale_hashed_files(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    fb.build(fb.DEFAULT_SRC, out)
    (out / "app.deadbeef.js").write_text("old", encoding="utf-8")
    fb.build(fb.DEFAULT_SRC, out)
    assert not (out / "app.deadbeef.js").exists()


def test_rewrite_keeps_url_form_and_resolves_subdirectories() -> None:
    renames = {"app.js": "app.0123abcd.js", "css/site.css": "css/site.89abcdef.css"}
    html = (
        '<script src="./app.js"></script><script src="/app.js"></script>'
        '<link href="../css/site.css"><a href="https://example.com/app.js"></a><a href="#app.js"></a>'
    )
    out = fb.rewrite_refs("pages/index.html", html, renames)
    assert 'src="./app.js"' in out  # pages/app.js is not an asset
    assert 'src="/app.0123abcd.js"' in out
    assert 'href="../css/site.89abcdef.css"' in out
    assert 'href="https://example.com/app.js"' in out and 'href="#app.js"' in out


def test_build_refuses_an_output_that_would_delete_the_sources(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="outside the sources"):
        fb.build(fb.DEFAULT_SRC, fb.DEFAULT_SRC)
    with pytest.raises(ValueError, match="outside the sources"):
        fb.build(fb.DEFAULT_SRC, SITE)
    assert (fb.DEFAULT_SRC / "index.html").is_file()


def test_upload_plan_cache_headers_and_content_types(dist: Path) -> None:
    plan = fb.upload_plan(dist)
    by_key = {item.key: item for item in plan}
    assert len(by_key) == 5
    index, config = by_key.pop("index.html"), by_key.pop("config.json")
    assert index.cache_control == "no-cache" and config.cache_control == "no-cache"
    assert index.content_type == "text/html; charset=utf-8" and config.content_type == "application/json"
    assert index.path == dist / "index.html"
    types = {key.rsplit(".", 1)[-1]: item.content_type for key, item in by_key.items()}
    assert types == {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}
    assert {item.cache_control for item in by_key.values()} == {"public, max-age=31536000, immutable"}
    assert plan[-1].key == "index.html"  # pages go last so they never name a missing asset


def test_upload_plan_unhashed_files_are_revalidated(tmp_path: Path) -> None:
    (tmp_path / "robots.txt").write_text("User-agent: *\n", encoding="utf-8")
    (tmp_path / "blob.bin").write_bytes(b"\0")
    (tmp_path / "logo.0123abcd.svg").write_text("<svg/>", encoding="utf-8")
    plan = {i.key: (i.content_type, i.cache_control) for i in fb.upload_plan(tmp_path)}
    assert plan == {
        "robots.txt": ("text/plain; charset=utf-8", "no-cache"),
        "blob.bin": ("application/octet-stream", "no-cache"),
        "logo.0123abcd.svg": ("image/svg+xml", "public, max-age=31536000, immutable"),
    }


def test_upload_plan_of_a_missing_build_says_so(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="run the build first"):
        fb.upload_plan(tmp_path / "nope")


def test_invalidation_covers_only_revalidated_paths(dist: Path) -> None:
    assert fb.invalidation_paths(fb.upload_plan(dist)) == ["/", "/config.json", "/index.html"]


def test_page_uses_same_origin_api_paths() -> None:
    js = (fb.DEFAULT_SRC / "app.js").read_text(encoding="utf-8")
    assert '"/api/info"' in js and '"/inference/chat"' in js
    assert not re.search(r"https?://", js), "API calls must stay relative to the page's origin"
    assert "messages" in js and '"user"' in js


def test_cli_builds_and_prints_the_plan(tmp_path: Path) -> None:
    out = tmp_path / "site"
    cli = [sys.executable, str(SITE / "build.py")]
    done = subprocess.run([*cli, "--out", str(out)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "index.html" in done.stdout and "immutable" in done.stdout
    assert (out / "index.html").is_file()
    bad = subprocess.run(
        [*cli, "--src", str(tmp_path / "none"), "--out", str(out)], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "no .html page" in bad.stderr


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_app_js_parses() -> None:
    for script in ("app.js", "auth.js"):
        subprocess.run(["node", "--check", str(fb.DEFAULT_SRC / script)], check=True)


INFO_OK = {"status": 200, "body": '{"service": "app-api", "version": "1.2.3", "image_tag": "abc1234"}'}


def scripted(answer: dict[str, Any]) -> Callable[[Seen], Reply]:
    return lambda _seen: (answer["status"], {"Content-Type": "application/json"}, answer["body"].encode())


def run_page(tmp_path: Path, scenario: dict[str, Any]) -> dict[str, Any]:
    """What the page (built without sign-in, served over HTTP) shows after loading and sending
    `chat`, if given, against scripted API answers; `requests` are the API calls it made."""
    dist = tmp_path / "dist"
    fb.build(fb.DEFAULT_SRC, dist)
    routes = {url: scripted(answer) for url, answer in scenario.items() if url.startswith("/")}
    chat = scenario.get("chat", [])
    chats = [{"chat": text} for text in ([chat] if isinstance(chat, str) else chat)]
    with serve_site(dist, routes) as site:
        seen = run_tab(site.origin, [{"open": "/"}, *chats])
    last = seen["snapshots"][-1]
    api = [r for r in seen["requests"] if urlsplit(r["url"]).path in routes]
    last["requests"] = [{"url": urlsplit(r["url"]).path, "method": r["method"],
                         "body": json.loads(r["body"]) if r["body"] else None} for r in api]
    return last


needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


@needs_node
def test_page_shows_info_and_a_chat_reply(tmp_path: Path) -> None:
    reply = '{"message": {"role": "assistant", "content": "hello there"}}'
    seen = run_page(tmp_path, {"/api/info": INFO_OK, "/inference/chat": {"status": 200, "body": reply}, "chat": " hi "})
    assert seen["info"] == {"service": "app-api", "version": "1.2.3", "image_tag": "abc1234"}
    assert seen["infoError"] is None and seen["chatError"] is None
    assert seen["log"] == [["user", "hi"], ["assistant", "hello there"]]
    assert seen["requests"][1] == {
        "url": "/inference/chat", "method": "POST", "body": {"messages": [{"role": "user", "content": "hi"}]},
    }


@needs_node
@pytest.mark.parametrize("body", ['{"text": "plain"}', '{"output": "plain"}'])
def test_page_accepts_other_reply_shapes(body: str, tmp_path: Path) -> None:
    seen = run_page(tmp_path, {"/api/info": INFO_OK, "/inference/chat": {"status": 200, "body": body}, "chat": "hi"})
    assert seen["log"][-1] == ["assistant", "plain"]


@needs_node
def test_page_shows_status_and_detail_of_errors(tmp_path: Path) -> None:
    seen = run_page(tmp_path, {
        "/api/info": {"status": 502, "statusText": "Bad Gateway", "body": "<html>502</html>"},
        "/inference/chat": {
            "status": 503, "statusText": "Service Unavailable", "body": '{"detail": "model busy"}',
        },
        "chat": "hi",
    })
    assert seen["infoError"] == "HTTP 502 Bad Gateway"
    assert seen["chatError"] == "HTTP 503 Service Unavailable: model busy"
    assert seen["log"] == [] and seen["input"] == "hi"  # the failed turn is kept for a retry


@needs_node
def test_page_shows_validation_error_messages(tmp_path: Path) -> None:
    body = '{"detail": [{"loc": ["body", "messages"], "msg": "Field required"}]}'
    seen = run_page(tmp_path, {"/api/info": INFO_OK, "/inference/chat": {"status": 422, "body": body}, "chat": "hi"})
    assert seen["chatError"] == "HTTP 422 Unprocessable Entity: Field required"


@needs_node
def test_page_shows_model_errors_in_the_inference_api_shape(tmp_path: Path) -> None:
    body = '{"error": {"code": "throttled", "message": "Bedrock is throttling requests", "request_id": "r1"}}'
    seen = run_page(tmp_path, {"/api/info": INFO_OK, "/inference/chat": {"status": 429, "body": body}, "chat": "hi"})
    assert seen["chatError"] == "HTTP 429 Too Many Requests: throttled: Bedrock is throttling requests"


@needs_node
def test_long_conversations_stay_within_the_api_message_limit(tmp_path: Path) -> None:
    reply = '{"message": {"role": "assistant", "content": "ok"}}'
    # 51 turns: the fewest whose whole history (50 exchanges and the new turn, 101 messages) is
    # over the limit (each turn costs the tab a round trip and about 50 ms of settling).
    chats = [f"q{i}" for i in range(51)]
    seen = run_page(tmp_path, {"/api/info": INFO_OK, "/inference/chat": {"status": 200, "body": reply}, "chat": chats})
    last = seen["requests"][-1]["body"]["messages"]
    assert len(last) <= 100 and len(last) % 2 == 1
    assert [m["role"] for m in last[:2]] == ["user", "assistant"]
    assert last[-1] == {"role": "user", "content": "q50"}


def site_with_secrets(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    shutil.copytree(fb.DEFAULT_SRC, src)
    (src / ".env").write_text("SECRET=1\n", encoding="utf-8")
    (src / ".git").mkdir()
    (src / ".git" / "config").write_text("[core]\n", encoding="utf-8")
    (src / "img").mkdir()
    (src / "img" / ".DS_Store").write_bytes(b"\0")
    (src / "img" / "logo.svg").write_text("<svg/>", encoding="utf-8")
    return src


def test_dotfiles_are_skipped_and_named(tmp_path: Path) -> None:
    src = site_with_secrets(tmp_path)
    files, skipped = fb.source_files(src)
    assert skipped == [".env", ".git/", "img/.DS_Store"]
    assert all(not part.startswith(".") for f in files for part in f.relative_to(src).parts)
    written = {p.relative_to(tmp_path / "out").as_posix() for p in fb.build(src, tmp_path / "out")}
    assert not [w for w in written if "/." in "/" + w] and any(w.startswith("img/logo.") for w in written)


def test_a_link_inside_the_folder_is_followed(tmp_path: Path) -> None:
    src = site_with_secrets(tmp_path)
    (src / "favicon.svg").symlink_to(src / "img" / "logo.svg")
    (src / "icons").symlink_to(src / "img", target_is_directory=True)
    (src / "img" / "loop").symlink_to(src, target_is_directory=True)  # a cycle ends, it does not hang
    names = {f.relative_to(src).as_posix() for f in fb.source_files(src)[0]}
    assert {"favicon.svg", "icons/logo.svg", "img/logo.svg"} <= names


@pytest.mark.parametrize("link", ["secret.txt", "assets"])
def test_a_link_that_leaves_the_folder_stops_the_build(tmp_path: Path, link: str) -> None:
    src = site_with_secrets(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("private", encoding="utf-8")
    (src / "img" / link).symlink_to(outside / link if link == "secret.txt" else outside)
    with pytest.raises(ValueError, match=f"img/{link} is a symbolic link that leaves the site folder"):
        fb.build(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_broken_link_stops_the_build(tmp_path: Path) -> None:
    src = site_with_secrets(tmp_path)
    (src / "gone.js").symlink_to(src / "nowhere.js")
    with pytest.raises(ValueError, match="gone.js is a broken symbolic link"):
        fb.source_files(src)


def test_a_config_json_in_the_sources_is_refused(tmp_path: Path) -> None:
    src = site_with_secrets(tmp_path)
    (src / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ValueError, match="config.json .* the build writes it"):
        fb.build(src, tmp_path / "out")


def test_upload_plan_never_takes_dotfiles_or_links(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<p>", encoding="utf-8")
    (tmp_path / ".env").write_text("x", encoding="utf-8")
    (tmp_path / "link.html").symlink_to(tmp_path / "index.html")
    assert [i.key for i in fb.upload_plan(tmp_path)] == ["index.html"]


@pytest.mark.parametrize(("auth", "origins"), [
    (None, []),
    ({"issuer": "https://id.example.com/t/1"}, ["https://id.example.com"]),
    ({"issuer": "https://cognito-idp.eu-west-1.amazonaws.com/pool", "authorizeUrl": "https://x.auth.eu-west-1."
      "amazoncognito.com/oauth2/authorize", "tokenUrl": "https://x.auth.eu-west-1.amazoncognito.com/oauth2/token"},
     ["https://x.auth.eu-west-1.amazoncognito.com"]),
    ({"issuer": "https://id.example.com", "tokenUrl": "https://token.example.com/t"},
     ["https://token.example.com", "https://id.example.com"]),
])
def test_connect_origins_are_what_the_page_fetches(auth: dict[str, str] | None, origins: list[str]) -> None:
    assert fb.connect_origins({"auth": auth}) == origins


def test_the_page_csp_gains_the_provider_origin(tmp_path: Path) -> None:
    fb.build(fb.DEFAULT_SRC, tmp_path / "out", {"auth": {"issuer": "https://id.example.com", "clientId": "c"}})
    html = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "connect-src 'self' https://id.example.com;" in html
    with pytest.raises(ValueError, match="no plain http"):
        fb.connect_origins({"auth": {"issuer": 'https://x" onload="'}})
