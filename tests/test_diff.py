"""The property-level review as pure functions: nested diffs, CloudFormation's details with
property values, the template fallback with parameter values put in, and how rows are shown."""

from __future__ import annotations

import io
import json

from create_only_table import TABLE, build, render, template_types

from deployer.planning.diff import (
    HIDDEN,
    MISSING,
    cfn_path,
    from_details,
    from_templates,
    has_values,
    nested_diff,
    parameter_changes,
    plain_value,
    show,
    substitute,
)
from deployer.planning.planner import change_rows
from deployer.presentation.report import Reporter, property_lines


def test_nested_dicts_and_lists_give_one_row_per_changed_leaf() -> None:
    before = {"ContainerDefinitions": [{"Cpu": 256, "Essential": True, "PortMappings": [{"ContainerPort": 8000}]}],
              "Family": "app"}
    after = {"ContainerDefinitions": [{"Cpu": 512, "Essential": True, "PortMappings": [{"ContainerPort": 8000},
                                                                                      {"ContainerPort": 9000}]}],
             "Family": "app", "Memory": "1024"}
    rows = [(p, show(b), show(a)) for p, b, a in nested_diff(before, after)]
    assert rows == [("ContainerDefinitions[0].Cpu", "256", "512"),
                    ("ContainerDefinitions[0].PortMappings[1]", "(none)", '{"ContainerPort":9000}'),
                    ("Memory", "(none)", "1024")]


def test_lists_of_named_items_match_by_name_not_position() -> None:
    before = [{"Name": "PORT", "Value": "8000"}, {"Name": "IMAGE_TAG", "Value": "abc"}]
    after = [{"Name": "ENVIRONMENT", "Value": "dev"}, {"Name": "PORT", "Value": "8000"},
             {"Name": "IMAGE_TAG", "Value": "def"}]
    assert [(p, show(b), show(a)) for p, b, a in nested_diff(before, after, "Environment")] == [
        ("Environment[Name=ENVIRONMENT]", "(none)", '{"Name":"ENVIRONMENT","Value":"dev"}'),
        ("Environment[Name=IMAGE_TAG].Value", "abc", "def"),
    ]


def test_lists_with_repeated_names_fall_back_to_positions() -> None:
    before = [{"Name": "A", "Value": "1"}, {"Name": "A", "Value": "2"}]
    after = [{"Name": "A", "Value": "1"}, {"Name": "A", "Value": "3"}]
    assert list(nested_diff(before, after, "X")) == [("X[1].Value", "2", "3")]


def policy(resources: list[str]) -> dict:
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": r}
        for r in resources]}


def test_a_long_policy_shows_the_one_changed_statement_not_two_blobs() -> None:
    arns = [f"arn:aws:logs:us-east-1:123456789012:log-group:/ecs/service-{i}:*" for i in range(30)]
    changed = arns[:17] + ["arn:aws:logs:us-east-1:123456789012:log-group:/ecs/renamed:*"] + arns[18:]
    assert len(json.dumps(policy(arns))) > 2000
    rows = list(nested_diff({"PolicyDocument": policy(arns)}, {"PolicyDocument": policy(changed)}))
    assert [p for p, _, _ in rows] == ["PolicyDocument.Statement[17].Resource"]
    assert show(rows[0][2]).endswith("/ecs/renamed:*")


def test_long_values_are_cut_and_intrinsics_read_like_yaml() -> None:
    assert len(show("x" * 500)) == 100 and show("x" * 500).endswith("…")
    assert show({"Ref": "LogGroup"}) == "!Ref LogGroup"
    assert show({"Fn::GetAtt": ["TaskRole", "Arn"]}) == "!GetAtt TaskRole.Arn"
    assert show(MISSING) == "(none)" and show(True) == "true"


def test_secrets_never_show_and_dynamic_references_stay_references() -> None:
    ref = "{{resolve:secretsmanager:prod/db:SecretString:password}}"
    rows = dict((p, (show(b, p), show(a, p))) for p, b, a in nested_diff(
        {"MasterUserPassword": "old-literal", "Environment": [{"Name": "API_KEY", "Value": "k1"}]},
        {"MasterUserPassword": ref, "Environment": [{"Name": "API_KEY", "Value": "k2"}]}))
    assert rows["MasterUserPassword"] == (HIDDEN, ref)
    assert rows["Environment[Name=API_KEY].Value"] == (HIDDEN, HIDDEN)
    assert "k1" not in json.dumps(rows) and "old-literal" not in json.dumps(rows)


# DescribeChangeSet(IncludePropertyValues=True) as CloudFormation answers it: objects as JSON text,
# one static and one dynamic detail for a parameter's change.
CPU_AND_TAG = {
    "Type": "Resource",
    "ResourceChange": {
        "Action": "Modify", "LogicalResourceId": "TaskDefinition", "ResourceType": "AWS::ECS::TaskDefinition",
        "Replacement": "True", "Scope": ["Properties"],
        "Details": [
            {"Target": {"Attribute": "Properties", "Name": "Cpu", "RequiresRecreation": "Always",
                        "Path": "/Properties/Cpu", "BeforeValue": "256", "AfterValue": "512",
                        "AttributeChangeType": "Modify"},
             "Evaluation": "Static", "ChangeSource": "DirectModification"},
            {"Target": {"Attribute": "Properties", "Name": "ContainerDefinitions", "RequiresRecreation": "Always",
                        "Path": "/Properties/ContainerDefinitions",
                        "BeforeValue": json.dumps([{"Name": "app-api", "Image": "repo:abc", "Cpu": 256}]),
                        "AfterValue": json.dumps([{"Name": "app-api", "Image": "repo:def", "Cpu": 256}]),
                        "AttributeChangeType": "Modify"},
             "Evaluation": "Static", "ChangeSource": "ParameterReference", "CausingEntity": "ImageTag"},
            {"Target": {"Attribute": "Properties", "Name": "ContainerDefinitions", "RequiresRecreation": "Always",
                        "Path": "/Properties/ContainerDefinitions",
                        "BeforeValue": json.dumps([{"Name": "app-api", "Image": "repo:abc", "Cpu": 256}]),
                        "AfterValue": json.dumps([{"Name": "app-api", "Image": "repo:def", "Cpu": 256}]),
                        "AttributeChangeType": "Modify"},
             "Evaluation": "Dynamic", "ChangeSource": "DirectModification"},
        ],
    },
}


def test_cloudformation_details_become_rows_with_replacement_and_parameter_marks() -> None:
    assert has_values(CPU_AND_TAG)
    (row,) = change_rows([CPU_AND_TAG])
    assert row.has_values and row.dangerous
    got = {p.path: (p.before, p.after, p.replaces, p.parameter) for p in row.properties}
    assert got == {"Cpu": ("256", "512", True, ""),
                   "ContainerDefinitions[Name=app-api].Image": ("repo:abc", "repo:def", True, "ImageTag")}
    assert row.to_dict()["properties"][0]["requires_replacement"] is True


def test_a_change_set_without_values_leaves_rows_for_the_fallback() -> None:
    bare = {"ResourceChange": {"Action": "Modify", "LogicalResourceId": "T", "ResourceType": "AWS::ECS::TaskDefinition",
                               "Details": [{"Target": {"Attribute": "Properties", "Name": "Cpu"}}]}}
    assert not has_values(bare)
    (row,) = change_rows([bare])
    assert not row.has_values and row.properties == ()


def test_cloudformation_paths_read_as_property_paths() -> None:
    assert cfn_path("/Properties/ContainerDefinitions/0/Cpu") == "ContainerDefinitions[0].Cpu"
    assert cfn_path("/Properties/Tags/2/Value") == "Tags[2].Value"
    assert cfn_path("/Metadata/checkov") == "Metadata.checkov"
    assert from_details([{"Target": {"Attribute": "Tags", "Name": "stack", "BeforeValue": "a", "AfterValue": "b"}}]
                        )[0].path == "Tags.stack"


def test_parameter_values_are_put_in_refs_subs_and_joins() -> None:
    values = {"ImageTag": "def", "Repo": "123.dkr.ecr/app"}
    node = {"Image": {"Fn::Join": [":", [{"Ref": "Repo"}, {"Ref": "ImageTag"}]]},
            "Tag": {"Fn::Sub": "${ImageTag}"}, "Log": {"Fn::Sub": "${AWS::Region}-${ImageTag}"},
            "Role": {"Fn::GetAtt": ["TaskRole", "Arn"]}}
    assert substitute(node, values) == {"Image": "123.dkr.ecr/app:def", "Tag": "def",
                                        "Log": {"Fn::Sub": "${AWS::Region}-def"},
                                        "Role": {"Fn::GetAtt": ["TaskRole", "Arn"]}}


def task_template(cpu: str) -> dict:
    return {"Resources": {"TaskDefinition": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
        "Cpu": cpu, "ContainerDefinitions": [{"Name": "app-api", "Image": {"Fn::Sub": "${Repo}:${ImageTag}"},
                                              "Environment": [{"Name": "IMAGE_TAG", "Value": {"Ref": "ImageTag"}}]}],
        "Tags": [{"Key": "stack", "Value": "app-api"}]}}}}


def test_the_template_fallback_marks_replacement_and_what_comes_from_ssm() -> None:
    old, new = {"ImageTag": "abc", "Repo": "r"}, {"ImageTag": "def", "Repo": "r"}
    rows = from_templates("TaskDefinition", task_template("256"), task_template("512"), old, new,
                          frozenset({"Cpu", "ContainerDefinitions"}))
    got = {r.path: (r.before, r.after, r.replacement, r.parameter) for r in rows}
    assert got == {
        "ContainerDefinitions[Name=app-api].Environment[Name=IMAGE_TAG].Value": ("abc", "def", "Always", "ImageTag"),
        "ContainerDefinitions[Name=app-api].Image": ("r:abc", "r:def", "Always", "ImageTag"),
        "Cpu": ("256", "512", "Always", ""),
    }
    unknown = from_templates("TaskDefinition", task_template("256"), task_template("512"), old, old)
    assert [(r.path, r.replacement) for r in unknown] == [("Cpu", "")]
    tags_only = from_templates("TaskDefinition", task_template("256"), task_template("256"), old, old,
                               frozenset({"Cpu"}))
    assert tags_only == []


def test_parameter_changes_name_the_ssm_path_and_ignore_how_lists_are_written() -> None:
    reads = {"ImageTag": "/p/app-api/image-tag", "Subnets": "/p/network/private-subnet-ids"}
    old = {"ImageTag": "abc", "Subnets": plain_value("['subnet-1', 'subnet-2']")}
    new = {"ImageTag": "def", "Subnets": "subnet-1,subnet-2"}
    assert [c.to_dict() for c in parameter_changes(reads, old, new)] == [
        {"name": "ImageTag", "ssm_path": "/p/app-api/image-tag", "before": "abc", "after": "def"}]


def test_the_terminal_shows_properties_under_their_resource_with_marks() -> None:
    rows = change_rows([CPU_AND_TAG])
    params = parameter_changes({"ImageTag": "/p/app-api/image-tag"}, {"ImageTag": "abc"}, {"ImageTag": "def"})
    lines = [text for text, _ in property_lines(rows, params)]
    assert lines == [
        "~ TaskDefinition (AWS::ECS::TaskDefinition)",
        "    Cpu: 256 -> 512  [forces replacement]",
        "    ContainerDefinitions[Name=app-api].Image: repo:abc -> repo:def  [forces replacement; from SSM: ImageTag]",
        "SSM parameters re-read (new values since the last deploy):",
        "    ImageTag (/p/app-api/image-tag): abc -> def",
    ]
    out = io.StringIO()
    Reporter("us-east-1", stream=out).change_set("app-api", {"ChangeSetName": "cs"}, rows, params)
    text = out.getvalue()
    assert "  !     Cpu: 256 -> 512  [forces replacement]" in text and "ImageTag (/p/app-api/image-tag)" in text


def test_create_only_table_matches_the_provider_schemas() -> None:
    table = json.loads(TABLE.read_text(encoding="utf-8"))
    missing = sorted(template_types() - set(table))
    assert not missing, f"no create-only entry for {missing}: run .venv/bin/python tests/create_only_table.py"
    assert TABLE.read_text(encoding="utf-8") == render(build()), \
        "deployer/planning/create_only.json is stale: run .venv/bin/python tests/create_only_table.py and commit it"
