"""Application layer: one Fargate service behind the shared load balancer.

Every configured service is built by this one code path; a difference between services is a
field of ServiceSpec, never a check of its name. Network values arrive as SSM-typed
parameters, so CloudFormation re-reads them (and the image tag) on every change set.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from troposphere import GetAtt, Ref, Sub, Template, ec2, ecs, logs
from troposphere import applicationautoscaling as aas
from troposphere import elasticloadbalancingv2 as elb

from . import origin_secret
from .agent_browser import add_browser_workflow, browser_environment
from .agent_resources import add_session_bucket, agent_container_environment
from .auth import service_auth_environment
from .capacity_config import CPU_ARCHITECTURE, strategy
from .common import SSM_SECURITY_GROUP, SSM_SUBNETS, SSM_VPC, checkov_skip, ssm_input
from .config import Config, ServiceSpec
from .iam import execution_role, task_role
from .naming import IMAGE_TAG_KEY, LISTENER_KEY, REPOSITORY_URI_KEY, network_param, service_param
from .schedule import scheduled_actions
from .service_alarms import add_deployment_alarms
from .service_secrets import add_secrets

# ALB stops sending new requests at once; in-flight ones get this long before the task is stopped.
DEREGISTRATION_DELAY_SECONDS = 20
# Longer than the services' own graceful-shutdown timeout (20 s), so SIGTERM is answered before SIGKILL.
STOP_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class NetworkInputs:
    vpc_id: Ref
    subnets: Ref
    alb_security_group: Ref
    listener_arn: Ref
    cluster_name: Ref
    repository_uri: Ref
    image_tag: Ref
    auth_env: tuple[tuple[str, object], ...] = ()  # AUTH_ISSUER/AUTH_AUDIENCE from SSM, or AUTH_DISABLED
    agent_env: tuple[tuple[str, object], ...] = ()  # AGENT_* and SESSION_BUCKET (agent_resources.py)


def build_service(cfg: Config, svc: ServiceSpec) -> Template:
    """One Fargate service behind the shared load balancer, wired to the foundation by SSM."""
    t = Template(Description=f"{cfg.prefix} {svc.name}: ECS Fargate service behind the shared load balancer")
    net = add_inputs(t, cfg, svc)
    sessions = add_session_bucket(t, cfg, svc)
    add_browser_workflow(t, cfg.prefix, svc)
    agent_env = {**agent_container_environment(svc, sessions), **browser_environment(cfg.prefix, svc)}
    net = replace(net, agent_env=tuple(agent_env.items()))
    log_group = t.add_resource(add_log_group(cfg, svc))
    roles = t.add_resource(execution_role(cfg, svc)), t.add_resource(task_role(cfg, svc, sessions))
    task = t.add_resource(task_definition(cfg, svc, net, roles, log_group))
    add_secrets(svc, task, roles[0])
    group = t.add_resource(target_group(cfg, svc, net))
    rule = t.add_resource(listener_rule(svc, net, group))
    origin_secret.gate_listener_rule(t, cfg, rule)
    sg = t.add_resource(service_security_group(cfg, svc, net))
    egress = t.add_resource(alb_egress_rule(svc, net, sg))
    service = t.add_resource(fargate_service(cfg, svc, net, task, group, sg, (rule, egress)))
    add_deployment_alarms(t, cfg, svc, group, service)
    add_autoscaling(t, cfg, svc, service)
    return t


def add_inputs(t: Template, cfg: Config, svc: ServiceSpec) -> NetworkInputs:
    p = cfg.prefix
    # With nat = "none" there is no way out of the private subnets, so tasks run in the public ones.
    subnets_key = "public-subnet-ids" if cfg.env.nat == "none" else "private-subnet-ids"
    return NetworkInputs(
        vpc_id=ssm_input(t, "VpcId", network_param(p, "vpc-id"), SSM_VPC),
        subnets=ssm_input(t, "Subnets", network_param(p, subnets_key), SSM_SUBNETS),
        alb_security_group=ssm_input(t, "AlbSecurityGroupId", network_param(p, "alb-security-group-id"),
                                     SSM_SECURITY_GROUP),
        listener_arn=ssm_input(t, "ListenerArn", network_param(p, LISTENER_KEY)),
        cluster_name=ssm_input(t, "ClusterName", network_param(p, "ecs-cluster-name")),
        repository_uri=ssm_input(t, "RepositoryUri", service_param(p, svc.name, REPOSITORY_URI_KEY)),
        image_tag=ssm_input(t, "ImageTag", service_param(p, svc.name, IMAGE_TAG_KEY)),
        auth_env=tuple(service_auth_environment(t, cfg).items()),
    )


def add_log_group(cfg: Config, svc: ServiceSpec) -> logs.LogGroup:
    group = logs.LogGroup(
        "LogGroup", LogGroupName=f"/ecs/{cfg.prefix}/{svc.name}", RetentionInDays=cfg.env.log_retention_days,
        # Deleted with the stack on purpose: the name is fixed, so a retained group would make the
        # next create of this stack fail with "already exists".
        DeletionPolicy="Delete", UpdateReplacePolicy="Delete",
    )
    return checkov_skip(group, ("CKV_AWS_158", "CloudWatch Logs encrypts at rest by default; a customer KMS key "
                                "adds cost and key-policy coupling for application logs with no secrets"))


def container_environment(cfg: Config, svc: ServiceSpec, net: NetworkInputs) -> list[ecs.Environment]:
    env: dict[str, object] = {
        "PORT": str(svc.port),
        "SERVICE_NAME": svc.name,
        "ENVIRONMENT": cfg.env.name,
        "IMAGE_TAG": net.image_tag,
        "LOG_LEVEL": "INFO",
    }
    if svc.bedrock_models:
        env["BEDROCK_MODEL_ID"] = svc.bedrock_models[0]
        env["BEDROCK_REGION"] = Ref("AWS::Region")
    env.update(dict(net.agent_env))
    env.update(dict(svc.environment))
    # After `environment`, though config already refuses these names there: the platform's say wins.
    env.update(dict(net.auth_env))
    env.update({name: str(value) for name, value in svc.limits})
    return [ecs.Environment(Name=k, Value=v) for k, v in sorted(env.items())]


def task_definition(cfg: Config, svc: ServiceSpec, net: NetworkInputs, roles: tuple, log_group) -> ecs.TaskDefinition:
    execution, task = roles
    container = ecs.ContainerDefinition(
        Name=svc.name,
        Image=Sub("${RepositoryUri}:${ImageTag}"),
        Essential=True,
        PortMappings=[ecs.PortMapping(ContainerPort=svc.port, Protocol="tcp")],
        Environment=container_environment(cfg, svc, net),
        ReadonlyRootFilesystem=True,
        StopTimeout=STOP_TIMEOUT_SECONDS,
        LogConfiguration=ecs.LogConfiguration(LogDriver="awslogs", Options={
            "awslogs-group": Ref(log_group), "awslogs-region": Ref("AWS::Region"), "awslogs-stream-prefix": svc.name,
        }),
    )
    return ecs.TaskDefinition(
        "TaskDefinition", Family=f"{cfg.prefix}-{svc.name}", Cpu=str(svc.cpu), Memory=str(svc.memory),
        NetworkMode="awsvpc", RequiresCompatibilities=["FARGATE"],
        RuntimePlatform=ecs.RuntimePlatform(CpuArchitecture=CPU_ARCHITECTURE[svc.arch], OperatingSystemFamily="LINUX"),
        ExecutionRoleArn=GetAtt(execution, "Arn"), TaskRoleArn=GetAtt(task, "Arn"),
        ContainerDefinitions=[container],
    )


def target_group(cfg: Config, svc: ServiceSpec, net: NetworkInputs) -> elb.TargetGroup:
    return elb.TargetGroup(
        "TargetGroup", TargetType="ip", Protocol="HTTP", ProtocolVersion="HTTP1", Port=svc.port, VpcId=net.vpc_id,
        HealthCheckEnabled=True, HealthCheckPath=svc.health_check_path, HealthCheckProtocol="HTTP",
        HealthCheckIntervalSeconds=10, HealthCheckTimeoutSeconds=5, HealthyThresholdCount=2,
        UnhealthyThresholdCount=3, Matcher=elb.Matcher(HttpCode="200"),
        TargetGroupAttributes=[elb.TargetGroupAttribute(
            Key="deregistration_delay.timeout_seconds", Value=str(DEREGISTRATION_DELAY_SECONDS))],
    )


def listener_rule(svc: ServiceSpec, net: NetworkInputs, group: elb.TargetGroup) -> elb.ListenerRule:
    return elb.ListenerRule(
        "ListenerRule", ListenerArn=net.listener_arn, Priority=svc.priority,
        Conditions=[elb.Condition(Field="path-pattern", PathPatternConfig=elb.PathPatternConfig(
            Values=list(svc.path_patterns)))],
        Actions=[elb.ListenerRuleAction(Type="forward", TargetGroupArn=Ref(group))],
    )


def service_security_group(cfg: Config, svc: ServiceSpec, net: NetworkInputs) -> ec2.SecurityGroup:
    return ec2.SecurityGroup(
        "ServiceSecurityGroup",
        GroupDescription=f"{cfg.prefix} {svc.name}: container port from the load balancer only",
        VpcId=net.vpc_id,
        SecurityGroupIngress=[ec2.SecurityGroupRule(
            IpProtocol="tcp", FromPort=svc.port, ToPort=svc.port, SourceSecurityGroupId=net.alb_security_group,
            Description="From the shared load balancer",
        )],
        # Image pulls, logs and AWS APIs (Bedrock) are all HTTPS; nothing else leaves the task.
        SecurityGroupEgress=[ec2.SecurityGroupRule(
            IpProtocol="tcp", FromPort=443, ToPort=443, CidrIp="0.0.0.0/0", Description="HTTPS to AWS APIs and ECR",
        )],
    )


def alb_egress_rule(svc: ServiceSpec, net: NetworkInputs, sg: ec2.SecurityGroup) -> ec2.SecurityGroupEgress:
    """The load balancer's way out to this service only: the foundation allows no egress of its own."""
    return ec2.SecurityGroupEgress(
        "AlbEgressToService", GroupId=net.alb_security_group, IpProtocol="tcp", FromPort=svc.port,
        ToPort=svc.port, DestinationSecurityGroupId=Ref(sg), Description=f"To {svc.name} containers",
    )


def fargate_service(cfg: Config, svc: ServiceSpec, net: NetworkInputs, task, group, sg, after: tuple) -> ecs.Service:
    public_ip = "ENABLED" if cfg.env.nat == "none" else "DISABLED"
    service = ecs.Service(
        "Service", Cluster=net.cluster_name, TaskDefinition=Ref(task),
        # No LaunchType: CloudFormation refuses it together with a capacity provider strategy.
        CapacityProviderStrategy=[ecs.CapacityProviderStrategyItem(CapacityProvider=name, Weight=weight,
                                                                   **({"Base": base} if base else {}))
                                  for name, base, weight in strategy(svc)],
        PlatformVersion="LATEST",
        DeploymentConfiguration=ecs.DeploymentConfiguration(
            MinimumHealthyPercent=100, MaximumPercent=200,
            DeploymentCircuitBreaker=ecs.DeploymentCircuitBreaker(Enable=True, Rollback=True),
        ),
        NetworkConfiguration=ecs.NetworkConfiguration(AwsvpcConfiguration=ecs.AwsvpcConfiguration(
            Subnets=net.subnets, SecurityGroups=[Ref(sg)], AssignPublicIp=public_ip)),
        LoadBalancers=[ecs.LoadBalancer(ContainerName=svc.name, ContainerPort=svc.port, TargetGroupArn=Ref(group))],
        HealthCheckGracePeriodSeconds=30, PropagateTags="SERVICE", EnableECSManagedTags=True,
        # The target group must be attached to the listener, and the load balancer allowed out to the
        # tasks, before ECS registers targets: otherwise health checks fail and the deploy rolls back.
        DependsOn=[r.title for r in after],
    )
    if not autoscaled(svc) and cfg.env.schedule is None:
        service.DesiredCount = svc.desired_count
    # Otherwise no DesiredCount: when set, every stack update resets a scaled-out service to it.
    # Application Auto Scaling owns the count (min_count..max_count) from the first deploy on.
    if public_ip == "ENABLED":
        checkov_skip(service, ("CKV_AWS_333", "nat = \"none\": tasks need a public IP to reach ECR and AWS APIs; "
                               "inbound is still limited to the load balancer's security group"))
    return service


def autoscaled(svc: ServiceSpec) -> bool:
    return svc.min_count < svc.max_count


def add_autoscaling(t: Template, cfg: Config, svc: ServiceSpec, service: ecs.Service) -> None:
    """A scalable target when the count moves: between min and max on CPU, and/or by working hours."""
    schedule = cfg.env.schedule
    if not autoscaled(svc) and schedule is None:
        return
    target = t.add_resource(aas.ScalableTarget(
        "ScalableTarget", ServiceNamespace="ecs", ScalableDimension="ecs:service:DesiredCount",
        ResourceId=Sub("service/${ClusterName}/${Service.Name}"),
        MinCapacity=svc.min_count, MaxCapacity=svc.max_count,
    ))
    if schedule is not None:
        target.ScheduledActions = scheduled_actions(schedule, svc)
    if not autoscaled(svc):
        return
    t.add_resource(aas.ScalingPolicy(
        "CpuScalingPolicy", PolicyName=f"{svc.name}-cpu-target", PolicyType="TargetTrackingScaling",
        ScalingTargetId=Ref(target),
        TargetTrackingScalingPolicyConfiguration=aas.TargetTrackingScalingPolicyConfiguration(
            TargetValue=float(svc.cpu_target_percent), ScaleInCooldown=120, ScaleOutCooldown=60,
            PredefinedMetricSpecification=aas.PredefinedMetricSpecification(
                PredefinedMetricType="ECSServiceAverageCPUUtilization"),
        ),
    ))
