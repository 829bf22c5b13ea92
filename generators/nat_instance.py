"""`nat = "instance"`: one small Graviton instance as the private subnets' NAT, the way fck-nat does it.

The private route table points at a network interface of its own (the "floating" ENI, source/dest
check off), not at an instance, so the route never changes. An Auto Scaling group of one keeps an
instance alive; at boot each instance turns off its own source/destination check, attaches that
interface as its second one, enables forwarding and masquerades everything it forwards behind its
primary interface's public IPv4 address. Limits (README, "NAT modes"): one instance's network
bandwidth (t4g.nano: up to 5 Gbit/s burst, far less sustained), about a minute without egress
while a replacement boots, one zone (a zone outage cuts private egress), and the public address
changes when the instance is replaced.
"""

from __future__ import annotations

from awacs import ec2 as ec2_actions
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from awacs.sts import AssumeRole
from troposphere import Base64, GetAtt, Parameter, Ref, Sub, Template, autoscaling, ec2, iam

from .common import checkov_skip, name_tags

NAT_INSTANCE_TYPE = "t4g.nano"  # Graviton: the cheapest instance that forwards at up to 5 Gbit/s burst
NAT_VOLUME_GB = 8  # the AMI's own root volume size; smaller is refused
# What a NAT forwards, as explicit rules rather than protocol -1 (whose ports some endpoints require
# and cfn-lint says are ignored).
FORWARDED = (("tcp", 0, 65535), ("udp", 0, 65535), ("icmp", -1, -1))
AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"

# Runs once per instance. IMDSv2 only (the launch template requires tokens).
USER_DATA = """#!/bin/bash
set -euo pipefail
token=$(curl -sfX PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
instance=$(curl -sf -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/instance-id)
export AWS_DEFAULT_REGION=${AWS::Region}
# The way out is the primary interface: read it before the second one brings routes of its own.
out=$(ip route show default | awk '{print $5; exit}')
# Replies to the private subnets leave through the primary interface: its check must be off too.
aws ec2 modify-instance-attribute --instance-id "$instance" --no-source-dest-check
# The instance being replaced may hold the interface for a few more seconds: retry.
for attempt in $(seq 1 30); do
  aws ec2 attach-network-interface --network-interface-id ${NatNetworkInterface} \\
    --instance-id "$instance" --device-index 1 && break
  sleep 5
done
printf 'net.ipv4.ip_forward = 1\\nnet.ipv4.conf.all.rp_filter = 0\\nnet.ipv4.conf.default.rp_filter = 0\\n' \\
  > /etc/sysctl.d/90-nat.conf
sysctl --system
command -v nft >/dev/null || dnf install -y nftables
nft add table ip nat
nft 'add chain ip nat postrouting { type nat hook postrouting priority 100 ; }'
nft add rule ip nat postrouting oifname "$out" masquerade
"""


def add_nat_instance(t: Template, prefix: str, vpc: object, vpc_cidr: str, subnet: object) -> ec2.NetworkInterface:
    """The NAT instance's resources; returns the interface the private default route points to."""
    ami = t.add_parameter(Parameter(
        "NatAmiId", Type="AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>", Default=AMI_PARAMETER,
        Description="Amazon Linux 2023 (arm64), AWS's public SSM parameter: the latest image at each change set",
    ))
    sg = t.add_resource(nat_security_group(prefix, vpc, vpc_cidr))
    eni = t.add_resource(ec2.NetworkInterface(
        "NatNetworkInterface", SubnetId=Ref(subnet), GroupSet=[Ref(sg)], SourceDestCheck=False,
        Description=f"{prefix} NAT: the private route tables' target, attached to whichever instance runs",
        Tags=name_tags(prefix, "nat"),
    ))
    role = t.add_resource(nat_role(prefix, eni))
    profile = t.add_resource(iam.InstanceProfile("NatInstanceProfile", Roles=[Ref(role)]))
    template = t.add_resource(nat_launch_template(prefix, ami, sg, profile))
    t.add_resource(autoscaling.AutoScalingGroup(
        "NatAutoScalingGroup", MinSize="1", MaxSize="1", DesiredCapacity="1", VPCZoneIdentifier=[Ref(subnet)],
        LaunchTemplate=autoscaling.LaunchTemplateSpecification(
            LaunchTemplateId=Ref(template), Version=GetAtt(template, "LatestVersionNumber")),
        # EC2 status checks: a hung instance is replaced, which re-attaches the interface.
        HealthCheckType="EC2", HealthCheckGracePeriod=60,
        Tags=[autoscaling.Tag("Name", f"{prefix}-nat", True)],
    ))
    return eni


def nat_security_group(prefix: str, vpc: object, vpc_cidr: str) -> ec2.SecurityGroup:
    sg = ec2.SecurityGroup(
        "NatSecurityGroup", GroupDescription=f"{prefix} NAT instance: anything from the VPC, out to anywhere",
        VpcId=Ref(vpc),
        SecurityGroupIngress=[ec2.SecurityGroupRule(
            IpProtocol=proto, FromPort=low, ToPort=high, CidrIp=vpc_cidr,
            Description=f"{proto.upper()} the private subnets send to the internet") for proto, low, high in FORWARDED],
        SecurityGroupEgress=[ec2.SecurityGroupRule(
            IpProtocol=proto, FromPort=low, ToPort=high, CidrIp="0.0.0.0/0",
            Description=f"Forwarded {proto.upper()}, to wherever it was addressed") for proto, low, high in FORWARDED],
        Tags=name_tags(prefix, "nat"),
    )
    return checkov_skip(sg, ("CKV_AWS_382", "A NAT forwards whatever the private subnets send: egress to any "
                             "address and port is its job; the tasks' own security groups limit what they send"))


def nat_role(prefix: str, eni: ec2.NetworkInterface) -> iam.Role:
    """Attach the one interface, and change only instances of this NAT group (by their Name tag)."""
    own_instances = Condition(StringEquals({"ec2:ResourceTag/Name": f"{prefix}-nat"}))
    return iam.Role(
        "NatInstanceRole", Description=f"{prefix} NAT instance: attach its interface, turn off its own check",
        AssumeRolePolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[Statement(
            Effect=Allow, Principal=Principal("Service", ["ec2.amazonaws.com"]), Action=[AssumeRole])]),
        Policies=[iam.Policy(PolicyName="attach-nat-interface", PolicyDocument=PolicyDocument(
            Version="2012-10-17", Statement=[
                Statement(Sid="TheNatInterface", Effect=Allow, Action=[ec2_actions.AttachNetworkInterface],
                          Resource=[Sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:"
                                        "network-interface/${NatNetworkInterface}")]),
                Statement(Sid="OwnInstances", Effect=Allow,
                          Action=[ec2_actions.AttachNetworkInterface, ec2_actions.ModifyInstanceAttribute],
                          Resource=[Sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*")],
                          Condition=own_instances),
            ]))],
    )


def nat_launch_template(prefix: str, ami: Parameter, sg: ec2.SecurityGroup,
                        profile: iam.InstanceProfile) -> ec2.LaunchTemplate:
    data = ec2.LaunchTemplateData(
        ImageId=Ref(ami), InstanceType=NAT_INSTANCE_TYPE,
        IamInstanceProfile=ec2.IamInstanceProfile(Name=Ref(profile)),
        # The primary interface's public address is the NAT's way out (and how the instance reaches
        # the EC2 API to attach the floating interface before it can forward anything).
        NetworkInterfaces=[ec2.NetworkInterfaces(DeviceIndex=0, AssociatePublicIpAddress=True,
                                                 Groups=[Ref(sg)], DeleteOnTermination=True)],
        MetadataOptions=ec2.MetadataOptions(HttpTokens="required", HttpEndpoint="enabled",
                                            HttpPutResponseHopLimit=1),
        BlockDeviceMappings=[ec2.LaunchTemplateBlockDeviceMapping(DeviceName="/dev/xvda", Ebs=ec2.EBSBlockDevice(
            VolumeSize=NAT_VOLUME_GB, VolumeType="gp3", Encrypted=True, DeleteOnTermination=True))],
        UserData=Base64(Sub(USER_DATA)),
        TagSpecifications=[ec2.TagSpecifications(ResourceType="instance", Tags=name_tags(prefix, "nat"))],
    )
    template = ec2.LaunchTemplate("NatLaunchTemplate", LaunchTemplateData=data, LaunchTemplateName=f"{prefix}-nat")
    return checkov_skip(template, ("CKV_AWS_88", "A NAT instance's job is to reach the internet: its primary "
                                   "interface's public IPv4 is the private subnets' way out; inbound is only the "
                                   "VPC's own range (NatSecurityGroup)"))
