"""Every template set the lint tests hold to cfn-lint and checkov, checked once per test run.

checkov needs about 9 s of CPU only to start: run per test, a suite run started it four times, and
it linted the same texts more than once (a variant's registry stack is the committed one). Here
every set -- the committed dev and prod templates, and each variant rendered from an edited copy of
platform.toml -- is built once per run (session_support.once_per_run) in its own sub-directory of
ONE directory. checkov runs once over it (each distinct text once), started in the background as
soon as the sets exist; cfn-lint runs once per distinct template text, in every region any set asks
of that text. A test reads the reports and keeps what concerns its own set, so every set is still
checked in full.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from edge_support import BASE, DOMAIN, REPO, dev_config
from lint_support import cfn_lint_texts
from session_support import kept_between_runs, once_per_run

# templates/<env>/ as committed, linted in both regions the example file uses.
COMMITTED = tuple(sorted(p.name for p in (REPO / "templates").iterdir() if p.is_dir()))
COMMITTED_REGIONS = ["us-east-1", "eu-west-1"]
DEV_WAF = "[environments.dev.waf]\nenabled = false\n"
WAF_ON = "[environments.dev.waf]\nenabled = true\n"


def _waf_on(text: str) -> str:
    assert DEV_WAF in text
    return text.replace(DEV_WAF, WAF_ON)


# Variant name -> the dev configuration it renders. The example file holds one edge mode per
# environment, so the other modes (test_templates_edge) and WAF in front of a public ALB or outside
# us-east-1 (test_templates_waf) exist only rendered.
VARIANTS: dict[str, str] = {
    "edge-public-alb": dev_config(edge="public-alb", **DOMAIN),
    "edge-public-alb-zone": dev_config(edge="public-alb", hosted_zone_id="Z0123ABC", **DOMAIN),
    "edge-vpc-origin-domain": dev_config(edge="vpc-origin", **DOMAIN),
    "waf-public-alb": _waf_on(dev_config(edge="public-alb", **DOMAIN)),
    "waf-eu-west-1": _waf_on(BASE).replace('region = "us-east-1"', 'region = "eu-west-1"', 1),
}


def _build_sets(directory: Path) -> None:
    """directory/sets/<set>/<stack>.json for every set; directory/regions.json: set -> stack -> regions."""
    from generators.config import load_config
    from generators.synth import render, stack_regions

    regions: dict[str, dict[str, list[str]]] = {}
    for env in COMMITTED:
        shutil.copytree(REPO / "templates" / env, directory / "sets" / env)
        regions[env] = {p.stem: COMMITTED_REGIONS for p in (REPO / "templates" / env).glob("*.json")}
    for name, text in VARIANTS.items():
        config = directory / "configs" / name / "platform.toml"
        config.parent.mkdir(parents=True)
        config.write_text(text)
        cfg = load_config(config, "dev")
        pinned = stack_regions(cfg)
        out = directory / "sets" / name
        out.mkdir(parents=True)
        templates = render(cfg)
        for stack, template in templates.items():
            (out / f"{stack}.json").write_text(template)
        regions[name] = {stack: [pinned.get(stack, cfg.env.region)] for stack in templates}
    (directory / "regions.json").write_text(json.dumps(regions, indent=1))
    _dedupe_for_checkov(directory, regions)
    _start_checkov(directory)


def _dedupe_for_checkov(directory: Path, regions: dict[str, dict[str, list[str]]]) -> None:
    """directory/checkov/: each distinct template text once, under the first set that has it, and
    checked_as.json: set -> stack -> that file's path as checkov reports it. checkov judges a
    template by its text alone, so a variant's unchanged stacks need no second look (about 1.5 s
    of CPU per set saved)."""
    first: dict[str, str] = {}
    checked_as: dict[str, dict[str, str]] = {}
    for name, stacks in regions.items():
        for stack in stacks:
            source = directory / "sets" / name / f"{stack}.json"
            key = f"/{name}/{stack}.json"
            checked_as.setdefault(name, {})[stack] = first.setdefault(_digest(source), key)
            if checked_as[name][stack] == key:  # the first set with this text: checkov reads it here
                (directory / "checkov" / name).mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, directory / "checkov" / name / f"{stack}.json")
    (directory / "checked_as.json").write_text(json.dumps(checked_as, indent=1))


def sets_dir(factory: pytest.TempPathFactory) -> Path:
    """The run's directory of template sets (built by the first worker that asks)."""
    return once_per_run(factory, "template-sets", _build_sets)


def template_set(factory: pytest.TempPathFactory, name: str) -> dict[str, dict[str, Any]]:
    """Stack -> parsed template of one set."""
    return {p.stem: json.loads(p.read_text()) for p in sorted((sets_dir(factory) / "sets" / name).glob("*.json"))}


@cache
def _lint_plan(root: Path) -> dict[str, list[str]]:
    """Digest of each distinct template text -> every region some set lints it in."""
    plan: dict[str, set[str]] = {}
    for name, stacks in json.loads((root / "regions.json").read_text()).items():
        for stack, regions in stacks.items():
            plan.setdefault(_digest(root / "sets" / name / f"{stack}.json"), set()).update(regions)
    return {digest: sorted(regions) for digest, regions in plan.items()}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:20]


def cfn_lint_findings(factory: pytest.TempPathFactory, name: str, stack: str) -> list[str]:
    """Every cfn-lint match (informational rules included) for one template of one set. The lint
    itself runs once per distinct text in the run, whichever set asks first."""
    root = sets_dir(factory)
    path = root / "sets" / name / f"{stack}.json"
    digest = _digest(path)
    regions = _lint_plan(root)[digest]

    def lint(directory: Path) -> None:
        matches = cfn_lint_texts(path.read_text(), regions)
        (directory / "matches.json").write_text(json.dumps(matches))

    done = once_per_run(factory, f"cfn-lint-{digest}", lint)
    return json.loads((done / "matches.json").read_text())


CHECKOV_ARGS = ("--directory", "checkov", "--framework", "cloudformation", "--output", "json", "--compact",
                "--skip-download")  # not --quiet: the passed checks show each set was really checked
# In the background, so that no worker sits waiting for checkov while it has other tests to run;
# checkov.done (its exit status) appears last, after checkov.json and checkov.err are complete.
# A complete report is then kept for later runs (CHECKOV_KEEP, see checkov_key): copied whole, then renamed.
CHECKOV_JOB = ('( "$@" > checkov.json 2> checkov.err; echo $? > checkov.status; mv checkov.status checkov.done;'
               ' if [ -n "$CHECKOV_KEEP" ] && [ -s checkov.json ]; then t=$(mktemp -d "$CHECKOV_KEEP.XXXXXX")'
               ' && cp checkov.json checkov.err checkov.done "$t"/ && { mv -T "$t" "$CHECKOV_KEEP" || rm -rf "$t"; };'
               ' fi ) < /dev/null > /dev/null 2>&1 &')


def _checkov_bin() -> str | None:
    candidates = [os.environ.get("CHECKOV_BIN", ""), str(REPO / ".venv-checkov" / "bin" / "checkov"),
                  shutil.which("checkov") or ""]
    found = next((c for c in candidates if c and Path(c).exists()), None)
    return str(Path(found).absolute()) if found else None  # CHECKOV_BIN may be relative (the Makefile's is)


def checkov_key(directory: Path, checkov: str) -> str | None:
    """What decides checkov's report: its version (None when it cannot be read: then nothing is kept), its
    arguments and every file it reads (names and bytes of directory/checkov/)."""
    venv = Path(checkov).resolve().parent.parent
    found = sorted(p.name for p in venv.glob("lib/python*/site-packages/checkov-*.dist-info"))
    if not found:
        return None
    digest = hashlib.sha256(json.dumps([found, CHECKOV_ARGS]).encode())
    for path in sorted((directory / "checkov").rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(directory)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _start_checkov(directory: Path) -> None:
    """checkov in the background over directory/checkov/; or, when an earlier run kept the report of these
    very files by this very checkov (checkov_key), that report: checkov costs some 17 s of CPU a run."""
    found = _checkov_bin()
    if found is None:
        (directory / "checkov.err").write_text("checkov not found: run `make test` (it builds .venv-checkov) "
                                               "or set CHECKOV_BIN")
        (directory / "checkov.done").write_text("127")
        return
    key = checkov_key(directory, found)
    kept = kept_between_runs("checkov") / key if key else None
    if kept is not None and (kept / "checkov.done").exists():
        for name in ("checkov.json", "checkov.err", "checkov.done"):  # .done last, as the job writes it
            shutil.copy2(kept / name, directory / name)
        return
    if kept is not None:
        kept.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CHECKOV_KEEP": str(kept) if kept else ""}
    subprocess.run(["sh", "-c", CHECKOV_JOB, "sh", found, *CHECKOV_ARGS], cwd=directory, check=True, env=env)


@cache
def _checkov_report(root: Path) -> dict[str, Any]:
    deadline = time.monotonic() + 600
    while not (root / "checkov.done").exists():  # the job's last step; polled, it is not our child
        if time.monotonic() > deadline:
            pytest.fail(f"checkov has not finished after 600 s: {root}")
        time.sleep(0.05)
    err = (root / "checkov.err").read_text()
    out = (root / "checkov.json").read_text() if (root / "checkov.json").exists() else ""
    if not out.strip():
        pytest.fail(f"checkov exited {(root / 'checkov.done').read_text().strip()} with no report: {err[-2000:]}")
    reports = json.loads(out)
    return {"reports": reports if isinstance(reports, list) else [reports], "stderr": err[-2000:]}


def checkov_findings(factory: pytest.TempPathFactory, name: str) -> tuple[list[str], int, str]:
    """(failed checks, number of passed checks, checkov's stderr tail) for every template of one set,
    each read where the run's one checkov report has its text."""
    root = sets_dir(factory)
    report = _checkov_report(root)
    files = set(json.loads((root / "checked_as.json").read_text())[name].values())

    def of_set(kind: str) -> list[dict[str, Any]]:
        return [c for r in report["reports"] for c in r.get("results", {}).get(kind, []) if c["file_path"] in files]

    failed = [f"{c['check_id']} {c['file_path']} {c['resource']}: {c['check_name']}" for c in of_set("failed_checks")]
    return failed, len(of_set("passed_checks")), report["stderr"]
