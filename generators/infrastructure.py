"""Foundation layer: the network, the shared load balancer and the ECS cluster.

Every value an application stack needs is published under /<prefix>/network/... in SSM,
so application stacks deploy on their own without CloudFormation exports.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass

from troposphere import Equals, GetAtt, Join, Output, Ref, Sub, Template, ec2, ecs, route53
from troposphere import elasticloadbalancingv2 as elb

from . import origin_secret
from .common import checkov_skip, name_tags, ssm_output
from .config import Config
from .naming import LISTENER_KEY, network_param
from .nat_instance import add_nat_instance
from .network_logs import add_access_logs, add_flow_logs

# TLS 1.3 with TLS 1.2 fallback: AWS's recommended policy for internet-facing listeners.
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


@dataclass(frozen=True)
class Network:
    vpc: ec2.VPC
    public: list[ec2.Subnet]
    private: list[ec2.Subnet]


def build_infrastructure(cfg: Config) -> Template:
    t = Template(Description=f"{cfg.prefix} infrastructure: VPC, load balancer and ECS cluster (foundation layer)")
    add_region_rule(t, cfg)
    net = add_network(t, cfg)
    add_flow_logs(t, cfg, net.vpc)
    public_routes = add_public_routing(t, cfg, net)
    private_routes = add_private_routing(t, cfg, net)
    add_s3_endpoint(t, net, [public_routes, private_routes])
    alb_sg = add_alb_security_group(t, cfg, net)
    alb = add_load_balancer(t, cfg, net, alb_sg)
    add_access_logs(t, cfg, alb)
    listener = add_listener(t, cfg, alb)
    add_origin_record(t, cfg, alb)
    cluster = add_cluster(t, cfg)
    publish_network(t, cfg, net, alb, alb_sg, listener, cluster)
    add_outputs(t, cfg, alb)
    return t


def add_region_rule(t: Template, cfg: Config) -> None:
    """Zone IDs and the prefix list id are per region: refuse a change set anywhere else, before any change."""
    t.add_rule("RegionMatchesConfiguration", {"Assertions": [{
        "Assert": Equals(Ref("AWS::Region"), cfg.env.region),
        "AssertDescription": f"Generated for {cfg.env.region} (zone IDs, CloudFront prefix list id): set region in "
                             f"platform.toml and run deploy.py --synth for another region",
    }]})


def subnet_cidrs(cidr: str, az_count: int) -> tuple[list[str], list[str]]:
    """Equal slices of the VPC range: the first az_count are public, the next az_count private."""
    bits = math.ceil(math.log2(2 * az_count))
    slices = [str(s) for s in ipaddress.IPv4Network(cidr).subnets(prefixlen_diff=bits)]
    return slices[:az_count], slices[az_count : 2 * az_count]


def add_network(t: Template, cfg: Config) -> Network:
    vpc = t.add_resource(ec2.VPC(
        "Vpc", CidrBlock=cfg.env.vpc_cidr, EnableDnsSupport=True, EnableDnsHostnames=True,
        Tags=name_tags(cfg.prefix, "vpc"),
    ))
    public_cidrs, private_cidrs = subnet_cidrs(cfg.env.vpc_cidr, cfg.env.az_count)
    public, private = [], []
    # By zone ID, not name (names are shuffled per account), and only in zones where CloudFront offers
    # VPC origins: the load balancer must never land in one it cannot be reached from.
    zones = cfg.env.edge.zone_ids
    for i, (pub, priv) in enumerate(zip(public_cidrs, private_cidrs, strict=True), start=1):
        az = zones[i - 1]
        public.append(t.add_resource(ec2.Subnet(
            f"PublicSubnet{i}", VpcId=Ref(vpc), CidrBlock=pub, AvailabilityZoneId=az,
            # Nothing launches here with a public IP by default; Fargate tasks ask for one explicitly.
            MapPublicIpOnLaunch=False, Tags=name_tags(cfg.prefix, f"public-{i}"),
        )))
        private.append(t.add_resource(ec2.Subnet(
            f"PrivateSubnet{i}", VpcId=Ref(vpc), CidrBlock=priv, AvailabilityZoneId=az,
            MapPublicIpOnLaunch=False, Tags=name_tags(cfg.prefix, f"private-{i}"),
        )))
    return Network(vpc=vpc, public=public, private=private)


def add_public_routing(t: Template, cfg: Config, net: Network) -> ec2.RouteTable:
    igw = t.add_resource(ec2.InternetGateway("InternetGateway", Tags=name_tags(cfg.prefix, "igw")))
    attach = t.add_resource(ec2.VPCGatewayAttachment(
        "InternetGatewayAttachment", VpcId=Ref(net.vpc), InternetGatewayId=Ref(igw),
    ))
    table = t.add_resource(ec2.RouteTable(
        "PublicRouteTable", VpcId=Ref(net.vpc), Tags=name_tags(cfg.prefix, "public"),
    ))
    t.add_resource(ec2.Route(
        "PublicDefaultRoute", RouteTableId=Ref(table), DestinationCidrBlock="0.0.0.0/0",
        GatewayId=Ref(igw), DependsOn=attach,
    ))
    for i, subnet in enumerate(net.public, start=1):
        t.add_resource(ec2.SubnetRouteTableAssociation(
            f"PublicSubnet{i}RouteTableAssociation", SubnetId=Ref(subnet), RouteTableId=Ref(table),
        ))
    return table


def add_private_routing(t: Template, cfg: Config, net: Network) -> ec2.RouteTable:
    """One route table for all private subnets: with a single NAT gateway they share one exit."""
    table = t.add_resource(ec2.RouteTable(
        "PrivateRouteTable", VpcId=Ref(net.vpc), Tags=name_tags(cfg.prefix, "private"),
    ))
    if cfg.env.nat == "single":
        # One NAT gateway: ~$33/month instead of one per AZ, at the cost of
        # private egress depending on the first AZ.
        eip = t.add_resource(ec2.EIP(
            "NatEip", Domain="vpc", DependsOn="InternetGatewayAttachment", Tags=name_tags(cfg.prefix, "nat"),
        ))
        nat = t.add_resource(ec2.NatGateway(
            "NatGateway", AllocationId=GetAtt(eip, "AllocationId"), SubnetId=Ref(net.public[0]),
            Tags=name_tags(cfg.prefix, "nat"),
        ))
        t.add_resource(ec2.Route(
            "PrivateDefaultRoute", RouteTableId=Ref(table), DestinationCidrBlock="0.0.0.0/0",
            NatGatewayId=Ref(nat),
        ))
    if cfg.env.nat == "instance":
        # About a fifth of a NAT gateway's idle cost, for one instance's bandwidth in one zone (nat_instance.py).
        eni = add_nat_instance(t, cfg.prefix, net.vpc, cfg.env.vpc_cidr, net.public[0])
        t.add_resource(ec2.Route(
            "PrivateDefaultRoute", RouteTableId=Ref(table), DestinationCidrBlock="0.0.0.0/0",
            NetworkInterfaceId=Ref(eni),
        ))
    for i, subnet in enumerate(net.private, start=1):
        t.add_resource(ec2.SubnetRouteTableAssociation(
            f"PrivateSubnet{i}RouteTableAssociation", SubnetId=Ref(subnet), RouteTableId=Ref(table),
        ))
    return table


def add_s3_endpoint(t: Template, net: Network, tables: list[ec2.RouteTable]) -> None:
    """Gateway endpoints cost nothing and keep ECR layer downloads (served from S3) off the NAT."""
    t.add_resource(ec2.VPCEndpoint(
        "S3GatewayEndpoint", VpcId=Ref(net.vpc), VpcEndpointType="Gateway",
        ServiceName=Sub("com.amazonaws.${AWS::Region}.s3"), RouteTableIds=[Ref(rt) for rt in tables],
    ))


def add_alb_security_group(t: Template, cfg: Config, net: Network) -> ec2.SecurityGroup:
    """CloudFront in on the one origin port; nothing out until a service stack adds its own rule.

    In both edge modes the only source is CloudFront's origin-facing managed prefix list. It exists
    before anything of ours does, so the first deploy works (the VPC origins' service security group,
    CloudFront-VPCOrigins-Service-SG, appears only once a VPC origin exists, so referencing it would
    need a second deploy). A rule naming that list counts as its 55 entries against the default quota
    of 60 rules per group: one port fits, a second would not, so the ALB has exactly one listener.
    """
    edge = cfg.env.edge
    return t.add_resource(ec2.SecurityGroup(
        "AlbSecurityGroup",
        GroupDescription=f"{cfg.prefix} load balancer: CloudFront in, service ports out (rules added per service)",
        VpcId=Ref(net.vpc),
        SecurityGroupIngress=[ec2.SecurityGroupRule(
            IpProtocol="tcp", FromPort=edge.origin_port, ToPort=edge.origin_port,
            SourcePrefixListId=edge.prefix_list_id,
            Description=f"{edge.origin_protocol} from CloudFront (com.amazonaws.global.cloudfront.origin-facing)",
        )],
        # Without an explicit rule AWS adds "all traffic to 0.0.0.0/0". This one matches nothing (ICMP
        # type 252 code 86 to the broadcast address); each service stack adds an egress rule to its own
        # security group and port, so this stack does not have to know the services' ports. Keep this
        # list fixed: CloudFormation rewrites a security group's egress when its inline list changes.
        SecurityGroupEgress=[ec2.SecurityGroupRule(
            IpProtocol="icmp", FromPort=252, ToPort=86, CidrIp="255.255.255.255/32",
            Description="Placeholder that allows nothing: service stacks add their own egress rules",
        )],
        Tags=name_tags(cfg.prefix, "alb"),
    ))


def add_load_balancer(t: Template, cfg: Config, net: Network, sg: ec2.SecurityGroup) -> elb.LoadBalancer:
    attrs = {
        "routing.http.drop_invalid_header_fields.enabled": "true",
        "deletion_protection.enabled": str(cfg.env.deletion_protection).lower(),
        # Below the services' 65 s keep-alive: the load balancer must never reuse a connection the
        # service is about to close, or clients see sporadic 502s.
        "idle_timeout.timeout_seconds": "60",
    }
    internal = cfg.env.edge.internal
    # vpc-origin: internal, in the private subnets, no public IPv4 (CloudFront's VPC origin reaches it
    # from inside the VPC); public-alb: internet-facing in the public subnets.
    alb = t.add_resource(elb.LoadBalancer(
        "LoadBalancer", Type="application", Scheme="internal" if internal else "internet-facing",
        IpAddressType="ipv4", Subnets=[Ref(s) for s in (net.private if internal else net.public)],
        SecurityGroups=[Ref(sg)],
        LoadBalancerAttributes=[elb.LoadBalancerAttributes(Key=k, Value=v) for k, v in attrs.items()],
        # A VPC origin needs an internet gateway in the VPC even for an internal load balancer.
        DependsOn="InternetGatewayAttachment",
    ))
    return alb  # access logs (or the reason there are none): network_logs.add_access_logs


def listener_default_action(cfg: Config) -> elb.Action:
    """What the listener answers when no service rule matches (the hook for origin-secret checks)."""
    if origin_secret.enabled(cfg):  # public-alb: a request without CloudFront's secret header ends here
        return origin_secret.forbidden_action()
    return elb.Action(Type="fixed-response", FixedResponseConfig=elb.FixedResponseConfig(
        StatusCode="404", ContentType="application/json", MessageBody='{"detail":"Not Found"}',
    ))


def add_listener(t: Template, cfg: Config, alb: elb.LoadBalancer) -> elb.Listener:
    """The one listener, on the port and protocol CloudFront's origin settings use (frontend.py)."""
    edge = cfg.env.edge
    if edge.origin_https:
        return t.add_resource(elb.Listener(
            "HttpsListener", LoadBalancerArn=Ref(alb), Port=edge.origin_port, Protocol="HTTPS", SslPolicy=TLS_POLICY,
            Certificates=[elb.Certificate(CertificateArn=edge.alb_certificate_arn)],
            DefaultActions=[listener_default_action(cfg)],
        ))
    http = t.add_resource(elb.Listener(
        "HttpListener", LoadBalancerArn=Ref(alb), Port=edge.origin_port, Protocol="HTTP",
        DefaultActions=[listener_default_action(cfg)],
    ))
    return checkov_skip(
        http,
        ("CKV_AWS_2", "No domain configured: an internal load balancer that only CloudFront's VPC origin reaches, "
                      "over AWS's private network; set domain and alb_certificate_arn for HTTPS on this leg"),
        ("CKV_AWS_103", "Plain HTTP listener on the VPC origin's private path: no TLS to configure without a domain"),
    )


def add_origin_record(t: Template, cfg: Config, alb: elb.LoadBalancer) -> None:
    """origin.<domain> -> the load balancer, so CloudFront's TLS name resolves and matches the ALB certificate."""
    edge = cfg.env.edge
    if edge.origin_domain is None or edge.hosted_zone_id is None:
        return
    t.add_resource(route53.RecordSetType(
        "OriginDnsRecord", HostedZoneId=edge.hosted_zone_id, Name=edge.origin_domain, Type="A",
        AliasTarget=route53.AliasTarget(DNSName=GetAtt(alb, "DNSName"),
                                        HostedZoneId=GetAtt(alb, "CanonicalHostedZoneID")),
    ))


def add_cluster(t: Template, cfg: Config) -> ecs.Cluster:
    cluster = t.add_resource(ecs.Cluster(
        "Cluster", ClusterName=f"{cfg.prefix}-cluster",
        ClusterSettings=[ecs.ClusterSetting(Name="containerInsights", Value="enabled")],
    ))
    t.add_resource(ecs.ClusterCapacityProviderAssociations(
        "ClusterCapacityProviders", Cluster=Ref(cluster), CapacityProviders=["FARGATE", "FARGATE_SPOT"],
        DefaultCapacityProviderStrategy=[ecs.CapacityProviderStrategy(CapacityProvider="FARGATE", Weight=1)],
    ))
    return cluster


def publish_network(t: Template, cfg: Config, net: Network, alb: elb.LoadBalancer, sg: ec2.SecurityGroup,
                    listener: elb.Listener, cluster: ecs.Cluster) -> None:
    """The SSM half of the contract: what application stacks read, at the paths naming.py defines."""
    values: dict[str, tuple[object, str]] = {
        "vpc-id": (Ref(net.vpc), "VPC id"),
        "vpc-cidr": (GetAtt(net.vpc, "CidrBlock"), "VPC IPv4 CIDR block"),
        "alb-arn": (Ref(alb), "Application load balancer ARN"),
        "alb-dns-name": (GetAtt(alb, "DNSName"), "Application load balancer DNS name"),
        "alb-security-group-id": (Ref(sg), "Security group of the load balancer"),
        LISTENER_KEY: (Ref(listener), f"The listener service rules attach to ({cfg.env.edge.origin_protocol}:"
                                      f"{cfg.env.edge.origin_port}, whatever the edge mode)"),
        "ecs-cluster-name": (Ref(cluster), "ECS cluster name"),
        "ecs-cluster-arn": (GetAtt(cluster, "Arn"), "ECS cluster ARN"),
        "private-subnet-ids": (Join(",", [Ref(s) for s in net.private]), "Private subnet ids, one per AZ"),
        "public-subnet-ids": (Join(",", [Ref(s) for s in net.public]), "Public subnet ids, one per AZ"),
        "availability-zones": (
            Join(",", [GetAtt(s, "AvailabilityZone") for s in net.public]), "Availability zones in use"),
    }
    for key, (value, description) in values.items():
        ssm_output(t, network_param(cfg.prefix, key), value, description)


def add_outputs(t: Template, cfg: Config, alb: elb.LoadBalancer) -> None:
    scheme = cfg.env.edge.origin_protocol.lower()
    reach = "inside the VPC only: CloudFront's VPC origin" if cfg.env.edge.internal else "CloudFront only"
    t.add_output(Output("AlbUrl", Description=f"Load balancer URL (reachable from {reach})",
                        Value=Sub(f"{scheme}://${{LoadBalancer.DNSName}}")))
    t.add_output(Output("AlbDnsName", Description="Load balancer DNS name", Value=GetAtt(alb, "DNSName")))
