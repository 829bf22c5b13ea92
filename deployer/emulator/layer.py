"""The emulator layer: moto's server in this process, with the few gaps our templates hit filled in.

Everything that bends behaviour to moto lives here and runs only when an emulator is started
(`deploy.py --local`, the test fixture, the benchmark). Production code paths never import it.

Gaps filled (moto 5.x):
- Resource types moto's CloudFormation does not model (CloudFront, Application Auto Scaling,
  ECS capacity-provider associations, S3 bucket policies) make it return None for Ref/GetAtt,
  and an SSM parameter holding such a value fails the whole execute. They become placeholders
  with a fake physical id; moto's "Tried to parse ... not supported" warning is still raised,
  so tests that depend on such a resource can turn it into an error.
- UpdateTerminationProtection and CancelUpdateStack are not implemented (HTTP 500, which botocore
  retries); DeleteStack ignores termination protection.
- DeleteStack fails the API call itself when a resource cannot be deleted (AWS accepts the call and
  the stack ends DELETE_FAILED), and moto's CloudFormation never deletes VPC endpoints, NAT
  gateways, gateway attachments or route tables, so every VPC delete hits DependencyViolation.
  The VPC's leftovers are removed the way CloudFormation would; other failures become DELETE_FAILED.
- ExecuteChangeSet likewise fails the API call when a resource cannot be created or updated, and
  leaves the stack REVIEW_IN_PROGRESS or half-updated. AWS accepts the call, records the resource's
  CREATE_FAILED/UPDATE_FAILED event with the reason, rolls back and ends ROLLBACK_COMPLETE (a new
  stack) or UPDATE_ROLLBACK_COMPLETE. The emulator now does the same: resources this execution
  added are deleted and the stack's record of its template and resources is restored (a resource
  already modified in place in the emulated service is not reverted).
- A change set for an unchanged template answered "no changes" even when an SSM-typed parameter
  now resolves to a new value. CloudFormation re-reads those for every change set, so a new image
  tag is a change; the emulator now diffs the resolved values too and modifies the resources
  that reference a changed parameter, on execute as well.
- AWS::ElasticLoadBalancingV2::TargetGroup has no GetAtt at all in moto; the deployment alarms'
  dimension needs TargetGroupFullName (the ARN's `targetgroup/<name>/<id>` part), so it and
  TargetGroupName/TargetGroupArn are answered the way AWS does.
- UpdateService with a new task definition keeps the old deployment record (its taskDefinition
  and id); AWS starts a new PRIMARY deployment. moto runs no tasks, so the new one is recorded as
  COMPLETED at once (`--status` and the rollback tests read which task definition is deployed).
- GetTemplate ignores ChangeSetName and answers the stack's template; AWS answers the change set's
  (what `--execute` compares with the committed template before it runs a planned change set).
- Deleting an AWS::SSM::Parameter that is already gone failed the update; CloudFormation treats a
  resource that no longer exists as deleted. An update that removed a resource kept it in the
  stack's resource map, so adding it back later created nothing.
"""

from __future__ import annotations

import warnings
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import ChangeSet, CloudFormationBackend, Event, Stack
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.common_models import CloudFormationModel
from moto.core.responses import ActionResult
from moto.ec2.models import ec2_backends
from moto.ecs.models import EC2ContainerServiceBackend
from moto.elbv2.models import FakeTargetGroup
from moto.server import ThreadedMotoServer
from moto.ssm.exceptions import ParameterNotFound
from moto.ssm.models import Parameter as SsmParameter

UNSUPPORTED_WARNING = "but it's not supported by moto's CloudFormation implementation"
_patched = False


class Placeholder(CloudFormationModel):
    """Stands in for a resource type moto cannot create: a stable fake id and fake attributes."""

    def __init__(self, name: str, resource_type: str) -> None:
        self.name = name
        self.resource_type = resource_type

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "DomainName":
            return f"{self.name.lower()[-14:]}.cloudfront.emulated"
        return f"{self.name}.{attribute_name}"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Placeholder:
        return cls(resource_name, kwargs.get("ResourceType", "?"))

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[override]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any,
        account_id: str, region_name: str,
    ) -> Any:
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        return None


def _resource_class(original: Any) -> Any:
    def resource_class_from_type(resource_type: str) -> Any:
        found = original(resource_type)
        if found is None and resource_type not in parsing.NULL_MODELS:
            warnings.warn(
                f"Tried to parse {resource_type} {UNSUPPORTED_WARNING} (emulated as a placeholder)",
                stacklevel=2,
            )
            return Placeholder
        return found

    return resource_class_from_type


def _update_termination_protection(self: CloudFormationResponse) -> ActionResult:
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    stack.enable_termination_protection = self._get_bool_param("EnableTerminationProtection", False)
    return ActionResult({"StackId": stack.stack_id})


def _cancel_update_stack(self: CloudFormationResponse) -> ActionResult:
    # moto applies updates synchronously, so none is ever in progress: answer as AWS does then.
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    raise ValidationError(stack.name, message=f"CancelUpdateStack cannot be called from current stack status "
                                              f"{stack.status}")


def _protected_delete(original: Any) -> Any:
    def delete_stack(self: CloudFormationBackend, name_or_stack_id: str) -> None:
        # A copy, made in one step under the GIL: deploy.py deletes a batch's stacks from parallel threads,
        # and iterating the live dict while another delete removes from it raised (seen under load).
        for stack in list(self.stacks.values()):
            if name_or_stack_id in (stack.name, stack.stack_id) and stack.enable_termination_protection:
                raise ValidationError(
                    stack.name,
                    message=f"Stack [{stack.name}] cannot be deleted while TerminationProtection is enabled",
                )
        original(self, name_or_stack_id)
        for stack_id, stack in list(self.deleted_stacks.items()):
            if stack.status == "DELETE_FAILED":  # AWS keeps a stack whose delete failed
                self.stacks[stack_id] = self.deleted_stacks.pop(stack_id)

    return delete_stack


def _clear_vpc(stack: Stack) -> None:
    """Delete what moto's CloudFormation created in the stack's VPCs but never deletes."""
    ec2 = ec2_backends[stack.account_id][stack.region_name]
    for vpc in [r for r in stack.resource_map._parsed_resources.values() if type(r).__name__ == "VPC"]:
        ec2.delete_vpc_endpoints([e.id for e in list(ec2.vpc_end_points.values()) if e.vpc_id == vpc.id])
        for nat in [n for n in list(ec2.nat_gateways.values()) if n.vpc_id == vpc.id]:
            ec2.delete_nat_gateway(nat.id)
        for igw in list(ec2.internet_gateways.values()):
            if igw.vpc and igw.vpc.id == vpc.id:
                ec2.detach_internet_gateway(igw.id, vpc.id)
        for table in [t for t in list(ec2.route_tables.values()) if t.vpc_id == vpc.id]:
            if table.main_association_id is None:  # the VPC's main table goes with the VPC
                table._associations.clear()
                ec2.delete_route_table(table.id)


def _retain_after_create(stack: Stack) -> None:
    """moto retains only `Retain`; RetainExceptOnCreate retains too once the stack's create succeeded."""
    if stack.status in ("ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS", "CREATE_IN_PROGRESS"):
        return
    for resource in stack.resource_map._resource_json_map.values():
        if resource.get("DeletionPolicy") == "RetainExceptOnCreate":
            resource["DeletionPolicy"] = "Retain"


def _tolerant_delete(original: Any) -> Any:
    def delete(self: Stack) -> None:
        try:
            _retain_after_create(self)
            _clear_vpc(self)
            original(self)
        except Exception as exc:  # AWS reports a failed resource delete as a stack status, not an API error
            self._add_stack_event("DELETE_FAILED", resource_status_reason=str(exc))
            self.status = "DELETE_FAILED"
            self.status_reason = str(exc)

    return delete


def _named_failure(original: Any) -> Any:
    """Let a resource's creation or update error say which resource it was."""
    def parse(logical_id: str, resource_json: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return original(logical_id, resource_json, *args, **kwargs)
        except Exception as exc:
            if not hasattr(exc, "cfn_logical_id"):  # the innermost resource is the one that failed
                exc.cfn_logical_id, exc.cfn_resource_type = logical_id, resource_json.get("Type", "?")  # type: ignore[attr-defined]
            raise

    return parse


@dataclass(frozen=True)
class _Before:
    """What a stack's resource map held before an execution, to roll back to."""

    parsed: dict[str, Any]
    resources: dict[str, Any]
    template: dict[str, Any]

    @classmethod
    def take(cls, stack: Stack) -> _Before:
        rm = stack.resource_map
        return cls(dict(rm._parsed_resources), dict(rm._resource_json_map), rm._template)

    def restore(self, stack: Stack) -> None:
        rm = stack.resource_map
        added = {k: v for k, v in rm._parsed_resources.items() if k not in self.parsed and not isinstance(v, str)}
        rm._parsed_resources = added
        with suppress(Exception):  # best effort, as moto's own delete: what stays, stays
            rm.delete()  # walks the new template's resources, in dependency-retry passes
        rm._parsed_resources, rm._resource_json_map, rm._template = dict(self.parsed), self.resources, self.template


def _resource_event(stack: Stack, exc: Exception, status: str) -> None:
    reason = getattr(exc, "message", None) or str(exc)
    stack.events.append(Event(
        stack_id=stack.stack_id, stack_name=stack.name, logical_resource_id=getattr(exc, "cfn_logical_id", "?"),
        physical_resource_id="", resource_type=getattr(exc, "cfn_resource_type", "?"), resource_status=status,
        resource_status_reason=reason, resource_properties=None,
    ))


def _roll_back(stack: Stack, change_set: ChangeSet, exc: Exception, before: _Before) -> None:
    logical, new_stack = getattr(exc, "cfn_logical_id", "?"), change_set.change_set_type == "CREATE"
    verb = "create" if new_stack or logical not in before.resources else "update"
    phase = "ROLLBACK" if new_stack else "UPDATE_ROLLBACK"
    _resource_event(stack, exc, f"{verb.upper()}_FAILED")
    reason = f"The following resource(s) failed to {verb}: [{logical}]. Rollback requested by user."
    stack._add_stack_event(f"{phase}_IN_PROGRESS", resource_status_reason=reason)
    before.restore(stack)
    stack._add_stack_event(f"{phase}_COMPLETE")
    stack.status, stack.status_reason = f"{phase}_COMPLETE", reason
    change_set.execution_status = "EXECUTE_FAILED"


def _failing_execute(original: Any) -> Any:
    def execute_change_set(self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None) -> None:
        by_name = [c for c in list(self.change_sets.values()) if c.change_set_name == change_set_name]
        change_set = self.change_sets.get(change_set_name) or (by_name[-1] if by_name else None)
        if change_set is None or change_set.stack_id not in self.stacks:
            return original(self, change_set_name, stack_name)
        stack = self.stacks[change_set.stack_id]
        before = _Before.take(stack)
        try:
            original(self, change_set_name, stack_name)
        except Exception as exc:  # AWS reports a failed resource as a stack status, not an API error
            _roll_back(stack, change_set, exc, before)

    return execute_change_set


def _ssm_value(resource_map: parsing.ResourceMap, path: str, value_type: str) -> Any:
    try:
        return resource_map.parse_ssm_parameter(path, value_type)
    except Exception:  # deleted: the change set's own validation reports it, as AWS does
        return None


def _ssm_changed(resource_map: parsing.ResourceMap, template: dict[str, Any]) -> set[str]:
    """SSM-typed template parameters whose value in SSM differs from the one the stack resolved."""
    changed = set()
    for name, slot in template.get("Parameters", {}).items():
        value_type, path = str(slot.get("Type", "")), slot.get("Default")
        if value_type.startswith("AWS::SSM::Parameter::") and path and name in resource_map.resolved_parameters:
            now = _ssm_value(resource_map, path, value_type)
            if now is not None and now != resource_map.resolved_parameters[name]:
                changed.add(name)
    return changed


def _rereading_diff(original: Any) -> Any:
    def build_resource_diff(self: parsing.ResourceMap, other_template: dict[str, Any],
                            parameters: dict[str, Any] | None = None) -> dict[str, Any]:
        actions = original(self, other_template, parameters)
        changed = _ssm_changed(self, other_template) if self._resource_json_map else set()
        for name, resource in other_template.get("Resources", {}).items():
            if name in self._resource_json_map and name not in actions["Modify"] and \
                    changed & set(parsing.get_references_from_template(resource)):
                actions["Modify"].append(name)
        return actions

    return build_resource_diff


def _changes_count(original: Any) -> Any:
    """An unchanged template whose SSM values changed is a change set with changes, not "no changes"."""
    def create_change_set(self: CloudFormationBackend, *args: Any, **kwargs: Any) -> tuple[str, str]:
        change_set_id, stack_id = original(self, *args, **kwargs)
        change_set = self.change_sets[change_set_id]
        if change_set.status == "FAILED" and change_set.changes:
            change_set.status, change_set.execution_status, change_set.status_reason = \
                "CREATE_COMPLETE", "AVAILABLE", None
        return change_set_id, stack_id

    return create_change_set


def _gone_is_deleted(original: Any) -> Any:
    def delete_from_cloudformation_json(cls: Any, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str) -> None:
        with suppress(ParameterNotFound):
            original.__func__(cls, resource_name, cloudformation_json, account_id, region_name)

    return classmethod(delete_from_cloudformation_json)


def _forgetting_update(original: Any) -> Any:
    def update(self: parsing.ResourceMap, template: dict[str, Any], parameters: Any = None) -> None:
        removed = [n for n in self._resource_json_map if n not in template.get("Resources", {})]
        original(self, template, parameters)
        for name in removed:
            self._parsed_resources.pop(name, None)

    return update


TARGET_GROUP_ATTRS = ("TargetGroupFullName", "TargetGroupName", "TargetGroupArn", "LoadBalancerArns")


def _target_group_attribute(self: FakeTargetGroup, name: str) -> Any:
    if name == "TargetGroupFullName":
        return self.arn.split(":")[-1]  # arn:...:targetgroup/<name>/<id> -> targetgroup/<name>/<id>
    if name == "TargetGroupName":
        return self.name
    if name == "LoadBalancerArns":
        return list(self.load_balancer_arns)
    return self.arn


def _new_deployment(original: Any) -> Any:
    def update_service(self: EC2ContainerServiceBackend, service_properties: dict[str, Any]) -> Any:
        wanted = service_properties.get("task_definition")
        service = original(self, service_properties)
        if wanted and service.deployments and service.deployments[0].get("taskDefinition") != service.task_definition:
            service.deployments[0].update(taskDefinition=service.task_definition,
                                          id=f"ecs-svc/{abs(hash(service.task_definition)) % 10 ** 18}")
        return service

    return update_service


def _change_set_template(original: Any) -> Any:
    def get_template(self: CloudFormationResponse) -> Any:
        name = self._get_param("ChangeSetName")
        if not name:
            return original(self)
        return ActionResult({"TemplateBody": self.cloudformation_backend.describe_change_set(name).template})

    return get_template


def patch_moto() -> None:
    """Idempotent: fill the gaps listed in the module docstring."""
    global _patched
    if _patched:
        return
    parsing.resource_class_from_type = _resource_class(parsing.resource_class_from_type)
    CloudFormationResponse.update_termination_protection = _update_termination_protection  # type: ignore[attr-defined]
    CloudFormationResponse.cancel_update_stack = _cancel_update_stack  # type: ignore[attr-defined]
    CloudFormationResponse.get_template = _change_set_template(CloudFormationResponse.get_template)  # type: ignore[method-assign]
    CloudFormationBackend.delete_stack = _protected_delete(CloudFormationBackend.delete_stack)  # type: ignore[method-assign]
    Stack.delete = _tolerant_delete(Stack.delete)  # type: ignore[method-assign]
    parsing.parse_and_create_resource = _named_failure(parsing.parse_and_create_resource)
    parsing.parse_and_update_resource = _named_failure(parsing.parse_and_update_resource)
    CloudFormationBackend.execute_change_set = _failing_execute(  # type: ignore[method-assign]
        CloudFormationBackend.execute_change_set)
    parsing.ResourceMap.build_resource_diff = _rereading_diff(  # type: ignore[method-assign]
        parsing.ResourceMap.build_resource_diff)
    parsing.ResourceMap.update = _forgetting_update(parsing.ResourceMap.update)  # type: ignore[method-assign]
    SsmParameter.delete_from_cloudformation_json = _gone_is_deleted(  # type: ignore[method-assign]
        SsmParameter.__dict__["delete_from_cloudformation_json"])
    CloudFormationBackend.create_change_set = _changes_count(  # type: ignore[method-assign]
        CloudFormationBackend.create_change_set)
    EC2ContainerServiceBackend.update_service = _new_deployment(  # type: ignore[method-assign]
        EC2ContainerServiceBackend.update_service)
    FakeTargetGroup.has_cfn_attr = classmethod(lambda cls, attr: attr in TARGET_GROUP_ATTRS)  # type: ignore[assignment]
    FakeTargetGroup.get_cfn_attribute = _target_group_attribute  # type: ignore[attr-defined]
    _patched = True


def start_server(port: int = 0) -> ThreadedMotoServer:
    """moto's server on 127.0.0.1 and `port` (0: a free one), in a thread of this process."""
    patch_moto()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server


def server_url(server: ThreadedMotoServer) -> str:
    host, port = server.get_host_and_port()
    return f"http://{host}:{port}"
