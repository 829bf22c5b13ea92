"""The SSM contract between stacks, read from the committed templates, and the order it implies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generators.contract import Contract, ContractError, build_contract, launch_order
from generators.naming import FOUNDATION_STACKS, NETWORK_KEYS

ROOT = Path(__file__).resolve().parent.parent


def load(env: str) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((ROOT / "templates" / env).glob("*.json"))}


@pytest.fixture(params=["dev", "prod"])
def contract(request: pytest.FixtureRequest) -> Contract:
    return build_contract(load(request.param))


def test_every_ssm_read_has_exactly_one_writer_or_is_an_image_tag(contract: Contract) -> None:
    for stack, reads in contract.reads.items():
        for logical_id, path in reads.items():
            writers = [s for s, paths in contract.writes.items() if path in paths]
            if path.endswith("/image-tag"):
                assert writers == [], f"{path} must be written by the publish step, never by CloudFormation"
                service = path.split("/")[2]
                assert f"{path.rsplit('/', 1)[0]}/repository-uri" in contract.writer, service
            elif path.startswith("/aws/service/"):
                assert writers == [], f"{path} is AWS's own public parameter: no stack may write it"
            else:
                assert len(writers) == 1, f"{stack}.{logical_id} reads {path}, written by {writers}"


def test_foundation_publishes_every_network_path(contract: Contract) -> None:
    prefix = next(iter(contract.writes["infrastructure"])).split("/")[1]
    expected = {f"/{prefix}/network/{k}" for k in NETWORK_KEYS}
    assert expected <= contract.writes["infrastructure"]


def test_graph_puts_the_foundation_before_every_service(contract: Contract) -> None:
    batches = launch_order(contract)
    assert set(FOUNDATION_STACKS) <= set(batches[0])  # with `alerts`, which reads nothing
    step = {stack: i for i, batch in enumerate(batches) for stack in batch}
    assert step["infrastructure"] < step["frontend"] < step["auth"] < step["app-api"] == step["inference-api"]
    # alerts: the deployment alarms notify its topic (issue 11)
    assert contract.dependencies("app-api") == {"infrastructure", "registry", "auth", "alerts"}
    edge = {"edge"} & set(contract.reads)  # the web ACL (where WAF is on) reads nothing: the frontend reads it
    assert contract.dependencies("frontend") == {"infrastructure", *edge}
    assert contract.dependencies("auth") == {"frontend"}
    assert contract.readers("infrastructure") == {"app-api", "inference-api", "frontend"}


def test_application_stacks_use_no_cross_stack_exports() -> None:
    for env in ("dev", "prod"):
        for stack, t in load(env).items():
            text = json.dumps(t)
            assert "Fn::ImportValue" not in text, stack
            assert all("Export" not in o for o in t.get("Outputs", {}).values()), stack


def test_two_writers_and_a_dangling_read_are_contract_errors() -> None:
    w = {"Resources": {"P": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "/x/network/a"}}}}
    with pytest.raises(ContractError, match="written by both"):
        build_contract({"one": w, "two": w})
    r = {"Parameters": {"A": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/x/network/b"}}}
    with pytest.raises(ContractError, match="no stack writes"):
        build_contract({"one": w, "reader": r})


def test_a_cycle_is_reported() -> None:
    def stack(writes: str, reads: str) -> dict:
        return {
            "Resources": {"P": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": writes}}},
            "Parameters": {"R": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": reads}},
        }

    contract = build_contract({"a": stack("/x/a", "/x/b"), "b": stack("/x/b", "/x/a")})
    with pytest.raises(ContractError, match="cycle"):
        launch_order(contract)
