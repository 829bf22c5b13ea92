"""deployer.aws.runner's sessions share one botocore loader per data path (runner._session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.aws.runner import Clients


def loader(clients: Clients) -> object:
    return clients.session._session.get_component("data_loader")


def test_every_region_shares_one_loader_whose_search_path_does_not_grow() -> None:
    home, edge = Clients("eu-west-1"), Clients("eu-west-1").for_region("us-east-1")
    shared = loader(home)
    assert loader(edge) is shared
    paths = list(shared.search_paths)  # type: ignore[attr-defined]
    assert any(Path(p).parent.name == "boto3" for p in paths), "boto3's own data folder is still searched"
    Clients("us-west-2")
    assert shared.search_paths == paths  # type: ignore[attr-defined]
    assert home.ssm.meta.region_name == "eu-west-1" and edge.cf.meta.region_name == "us-east-1"


def test_aws_data_path_still_gets_a_loader_of_its_own(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    default = loader(Clients("eu-west-1"))
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    own = loader(Clients("eu-west-1"))
    assert own is not default and str(tmp_path) in own.search_paths  # type: ignore[attr-defined]
