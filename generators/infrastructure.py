"""Foundation layer: the network, the shared load balancer and the ECS cluster.

Every value an application stack needs is published under /<prefix>/network/... in SSM,
so application stacks deploy on their own without CloudFormation exports.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass

from troposphere import GetAtt, GetAZs, Join, Output, Ref, Select, Sub, Template, ec2, ecs
from troposphere import elasticloadbalancingv2 as elb

from . import origin_secret
from .common import checkov_skip, name_tags, ssm_output
from .config import Config
from .naming import HTTPS_LISTENER_KEY, network_param

# TLS 1.3 with TLS 1.2 fallback: AWS's recommended policy for internet-facing listeners.
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


@dataclass(frozen=True)
class Network:
    vpc: ec2.VPC
    public: list[ec2.Subnet]
    private: list[ec2.Subnet]


def build_infrastructure(cfg: Config) -> Template:
    t = Template(Description=f"{cfg.prefix} infrastructure: VPC, load balancer and ECS cluster (foundation layer)")
    net = add_network(t, cfg)
    public_routes = add_public_routing(t, cfg, net)
    private_routes = add_private_routing(t, cfg, net)
    add_s3_endpoint(t, net, [public_routes, private_routes])
    alb_sg = add_alb_security_group(t, cfg, net)
    alb = add_load_balancer(t, cfg, net, alb_sg)
    listeners = add_listeners(t, cfg, alb)
    cluster = add_cluster(t, cfg)
    publish_network(t, cfg, net, alb, alb_sg, listeners, cluster)
    add_outputs(t, cfg, alb)
    return t


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
    for i, (pub, priv) in enumerate(zip(public_cidrs, private_cidrs, strict=True), start=1):
        az = Select(i - 1, GetAZs(""))
        public.append(t.add_resource(ec2.Subnet(
            f"PublicSubnet{i}", VpcId=Ref(vpc), CidrBlock=pub, AvailabilityZone=az,
            # Nothing launches here with a public IP by default; Fargate tasks ask for one explicitly.
            MapPublicIpOnLaunch=False, Tags=name_tags(cfg.prefix, f"public-{i}"),
        )))
        private.append(t.add_resource(ec2.Subnet(
            f"PrivateSubnet{i}", VpcId=Ref(vpc), CidrBlock=priv, AvailabilityZone=az,
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
    ports = [(80, "HTTP from anywhere (redirected to HTTPS)" if cfg.env.https else "HTTP from anywhere")]
    if cfg.env.https:
        ports.append((443, "HTTPS from anywhere"))
    sg = t.add_resource(ec2.SecurityGroup(
        "AlbSecurityGroup",
        GroupDescription=f"{cfg.prefix} load balancer: web traffic in, service ports out to the VPC",
        VpcId=Ref(net.vpc),
        SecurityGroupIngress=[
            ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=p, ToPort=p, CidrIp="0.0.0.0/0", Description=d)
            for p, d in ports
        ],
        # Targets are Fargate tasks inside the VPC; the load balancer never needs to reach outside it.
        SecurityGroupEgress=[ec2.SecurityGroupRule(
            IpProtocol="tcp", FromPort=1024, ToPort=65535, CidrIp=cfg.env.vpc_cidr,
            Description="To service containers in the VPC",
        )],
        Tags=name_tags(cfg.prefix, "alb"),
    ))
    return checkov_skip(sg, ("CKV_AWS_260", "Public web entry point: port 80 must accept the internet"
                             + (" so it can redirect to HTTPS" if cfg.env.https else " (no certificate configured)")))


def add_load_balancer(t: Template, cfg: Config, net: Network, sg: ec2.SecurityGroup) -> elb.LoadBalancer:
    attrs = {
        "routing.http.drop_invalid_header_fields.enabled": "true",
        "deletion_protection.enabled": str(cfg.env.deletion_protection).lower(),
        # Below the services' 65 s keep-alive: the load balancer must never reuse a connection the
        # service is about to close, or clients see sporadic 502s.
        "idle_timeout.timeout_seconds": "60",
    }
    alb = t.add_resource(elb.LoadBalancer(
        "LoadBalancer", Type="application", Scheme="internet-facing", IpAddressType="ipv4",
        Subnets=[Ref(s) for s in net.public], SecurityGroups=[Ref(sg)],
        LoadBalancerAttributes=[elb.LoadBalancerAttributes(Key=k, Value=v) for k, v in attrs.items()],
        DependsOn="InternetGatewayAttachment",
    ))
    return checkov_skip(alb, ("CKV_AWS_91", "Access logs need a log bucket and its policy; enable per account "
                              "when required (request logs are also in the services' own JSON logs)"))


def add_listeners(t: Template, cfg: Config, alb: elb.LoadBalancer) -> dict[str, elb.Listener]:
    not_found = elb.Action(Type="fixed-response", FixedResponseConfig=elb.FixedResponseConfig(
        StatusCode="404", ContentType="application/json", MessageBody='{"detail":"Not Found"}',
    ))
    if origin_secret.enabled(cfg):  # only requests carrying CloudFront's secret reach a service's rule
        not_found = origin_secret.forbidden_action()
    if not cfg.env.https:
        http = t.add_resource(elb.Listener(
            "HttpListener", LoadBalancerArn=Ref(alb), Port=80, Protocol="HTTP", DefaultActions=[not_found],
        ))
        checkov_skip(http, ("CKV_AWS_2", "No certificate configured for this environment: HTTP is the only "
                            "listener. Set certificate_arn to serve HTTPS and redirect HTTP."),
                     ("CKV_AWS_103", "Plain HTTP listener: there is no TLS to configure without a certificate"))
        return {"http": http}
    http = t.add_resource(elb.Listener(
        "HttpListener", LoadBalancerArn=Ref(alb), Port=80, Protocol="HTTP",
        DefaultActions=[elb.Action(Type="redirect", RedirectConfig=elb.RedirectConfig(
            Protocol="HTTPS", Port="443", StatusCode="HTTP_301"))],
    ))
    https = t.add_resource(elb.Listener(
        "HttpsListener", LoadBalancerArn=Ref(alb), Port=443, Protocol="HTTPS", SslPolicy=TLS_POLICY,
        Certificates=[elb.Certificate(CertificateArn=cfg.env.certificate_arn)], DefaultActions=[not_found],
    ))
    return {"http": http, "https": https}


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
                    listeners: dict[str, elb.Listener], cluster: ecs.Cluster) -> None:
    """The SSM half of the contract: what application stacks read, at the paths naming.py defines."""
    values: dict[str, tuple[object, str]] = {
        "vpc-id": (Ref(net.vpc), "VPC id"),
        "vpc-cidr": (GetAtt(net.vpc, "CidrBlock"), "VPC IPv4 CIDR block"),
        "alb-arn": (Ref(alb), "Application load balancer ARN"),
        "alb-dns-name": (GetAtt(alb, "DNSName"), "Application load balancer DNS name"),
        "alb-security-group-id": (Ref(sg), "Security group of the load balancer"),
        "alb-listener-arn": (Ref(listeners["http"]), "HTTP listener ARN (port 80)"),
        "ecs-cluster-name": (Ref(cluster), "ECS cluster name"),
        "ecs-cluster-arn": (GetAtt(cluster, "Arn"), "ECS cluster ARN"),
        "private-subnet-ids": (Join(",", [Ref(s) for s in net.private]), "Private subnet ids, one per AZ"),
        "public-subnet-ids": (Join(",", [Ref(s) for s in net.public]), "Public subnet ids, one per AZ"),
        "availability-zones": (
            Join(",", [GetAtt(s, "AvailabilityZone") for s in net.public]), "Availability zones in use"),
    }
    if "https" in listeners:
        values[HTTPS_LISTENER_KEY] = (Ref(listeners["https"]), "HTTPS listener ARN (port 443)")
    for key, (value, description) in values.items():
        ssm_output(t, network_param(cfg.prefix, key), value, description)


def add_outputs(t: Template, cfg: Config, alb: elb.LoadBalancer) -> None:
    scheme = "https" if cfg.env.https else "http"
    t.add_output(Output("AlbUrl", Description="Load balancer URL", Value=Sub(f"{scheme}://${{LoadBalancer.DNSName}}")))
    t.add_output(Output("AlbDnsName", Description="Load balancer DNS name", Value=GetAtt(alb, "DNSName")))
