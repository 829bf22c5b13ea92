"""The static site's build: hashed asset names, rewritten references, and the S3 upload plan."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "services" / "frontend"


def load_module() -> ModuleType:
    """build.py is a script, not a package: load it by path exactly as deployer/publish.py does
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
    assert len(names) == 3
    assert re.fullmatch(r"app\.[0-9a-f]{8}\.js", names[0])
    assert names[1] == "index.html"
    assert re.fullmatch(r"styles\.[0-9a-f]{8}\.css", names[2])
    assert names[0] == fb.hashed_name("app.js", (fb.DEFAULT_SRC / "app.js").read_bytes())


def test_index_references_the_hashed_assets_and_they_exist(dist: Path) -> None:
    html = (dist / "index.html").read_text(encoding="utf-8")
    refs = fb.asset_refs("index.html", html)
    hashed = sorted(p.name for p in dist.iterdir() if p.name != "index.html")
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
    assert len(by_key) == 3
    index = by_key.pop("index.html")
    assert index.cache_control == "no-cache"
    assert index.content_type == "text/html; charset=utf-8"
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
    assert fb.invalidation_paths(fb.upload_plan(dist)) == ["/", "/index.html"]


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
    subprocess.run(["node", "--check", str(fb.DEFAULT_SRC / "app.js")], check=True)


HARNESS = SITE / "tests" / "dom_harness.js"
INFO_OK = {"status": 200, "body": '{"service": "app-api", "version": "1.2.3", "image_tag": "abc1234"}'}


def run_page(scenario: dict[str, object]) -> dict[str, object]:
    """What the page shows after loading (and sending `chat`, if given) against scripted responses."""
    done = subprocess.run(
        ["node", str(HARNESS), str(fb.DEFAULT_SRC / "app.js"), json.dumps(scenario)],
        capture_output=True, text=True, check=True, timeout=30,
    )
    return json.loads(done.stdout)


needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


@needs_node
def test_page_shows_info_and_a_chat_reply() -> None:
    reply = '{"message": {"role": "assistant", "content": "hello there"}}'
    seen = run_page({"/api/info": INFO_OK, "/inference/chat": {"status": 200, "body": reply}, "chat": " hi "})
    assert seen["info"] == {"service": "app-api", "version": "1.2.3", "image_tag": "abc1234"}
    assert seen["infoError"] is None and seen["chatError"] is None
    assert seen["log"] == [["user", "hi"], ["assistant", "hello there"]]
    assert seen["requests"][1] == {
        "url": "/inference/chat", "method": "POST", "body": {"messages": [{"role": "user", "content": "hi"}]},
    }


@needs_node
@pytest.mark.parametrize("body", ['{"text": "plain"}', '{"output": "plain"}'])
def test_page_accepts_other_reply_shapes(body: str) -> None:
    seen = run_page({"/api/info": INFO_OK, "/inference/chat": {"status": 200, "body": body}, "chat": "hi"})
    assert seen["log"][-1] == ["assistant", "plain"]


@needs_node
def test_page_shows_status_and_detail_of_errors() -> None:
    seen = run_page({
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
def test_page_shows_validation_error_messages() -> None:
    body = '{"detail": [{"loc": ["body", "messages"], "msg": "Field required"}]}'
    seen = run_page({"/api/info": INFO_OK, "/inference/chat": {"status": 422, "body": body}, "chat": "hi"})
    assert seen["chatError"] == "HTTP 422: Field required"


@needs_node
def test_page_shows_model_errors_in_the_inference_api_shape() -> None:
    body = '{"error": {"code": "throttled", "message": "Bedrock is throttling requests", "request_id": "r1"}}'
    seen = run_page({"/api/info": INFO_OK, "/inference/chat": {"status": 429, "body": body}, "chat": "hi"})
    assert seen["chatError"] == "HTTP 429: throttled: Bedrock is throttling requests"


@needs_node
def test_long_conversations_stay_within_the_api_message_limit() -> None:
    reply = '{"message": {"role": "assistant", "content": "ok"}}'
    chats = [f"q{i}" for i in range(60)]
    seen = run_page({"/api/info": INFO_OK, "/inference/chat": {"status": 200, "body": reply}, "chat": chats})
    last = seen["requests"][-1]["body"]["messages"]
    assert len(last) <= 100 and len(last) % 2 == 1
    assert [m["role"] for m in last[:2]] == ["user", "assistant"]
    assert last[-1] == {"role": "user", "content": "q59"}
