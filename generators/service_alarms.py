"""Alarm-guarded deployments: per service CloudWatch alarms that ECS watches during a rollout.

Four alarms on the service's target group: 5xx responses (count and rate), p99 response time,
unhealthy targets. They are the service's `DeploymentConfiguration.Alarms` with rollback on,
beside the circuit breaker: a release that passes health checks but answers 5xx is rolled back
by ECS (for rolling deployments ECS derives the bake time from the alarms' periods). Their
notifications go to the environment's topic, published by the `alerts` stack.
"""

from __future__ import annotations

from troposphere import GetAtt, Select, Split, Template, cloudwatch, ecs

from .common import SSM_STRING, ssm_input
from .config import Config, ServiceSpec
from .naming import ALERTS_TOPIC_KEY, alarm_names, alerts_param, network_param

MINUTE = 60
NAMESPACE = "AWS/ApplicationELB"


def add_deployment_alarms(t: Template, cfg: Config, svc: ServiceSpec, group: object, service: ecs.Service) -> None:
    alb_arn = ssm_input(t, "AlbArn", network_param(cfg.prefix, "alb-arn"), SSM_STRING)
    topic = ssm_input(t, "AlertsTopicArn", alerts_param(cfg.prefix, ALERTS_TOPIC_KEY), SSM_STRING)
    # Target group metrics carry both dimensions; the ALB's is the part of its ARN after "loadbalancer/".
    dims = [cloudwatch.MetricDimension(Name="TargetGroup", Value=GetAtt(group, "TargetGroupFullName")),
            cloudwatch.MetricDimension(Name="LoadBalancer", Value=Select(1, Split("loadbalancer/", alb_arn)))]
    a, names = svc.alarms, alarm_names(cfg.prefix, svc.name)
    common = {"EvaluationPeriods": a.evaluation_minutes, "DatapointsToAlarm": a.evaluation_minutes,
              "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching",
              "AlarmActions": [topic], "OKActions": [topic]}
    single = {"Namespace": NAMESPACE, "Dimensions": dims, "Period": MINUTE}
    alarms = [
        cloudwatch.Alarm("Http5xxCountAlarm", AlarmName=names[0], MetricName="HTTPCode_Target_5XX_Count",
                         Statistic="Sum", Threshold=float(a.http_5xx_count),
                         AlarmDescription=f"{svc.name}: {a.http_5xx_count}+ target 5xx a minute "
                                          "(alarms.http_5xx_count)",
                         **single, **common),
        cloudwatch.Alarm("Http5xxRateAlarm", AlarmName=names[1], Metrics=rate_queries(dims),
                         Threshold=float(a.http_5xx_percent),
                         AlarmDescription=f"{svc.name}: {a.http_5xx_percent}%+ of requests answered 5xx "
                                          "(alarms.http_5xx_percent)", **common),
        cloudwatch.Alarm("P99LatencyAlarm", AlarmName=names[2], MetricName="TargetResponseTime",
                         ExtendedStatistic="p99", Threshold=float(a.p99_response_seconds),
                         AlarmDescription=f"{svc.name}: p99 response time {a.p99_response_seconds}s+ "
                                          "(alarms.p99_response_seconds)", **single, **common),
        cloudwatch.Alarm("UnhealthyHostsAlarm", AlarmName=names[3], MetricName="UnHealthyHostCount",
                         Statistic="Maximum", Threshold=float(a.unhealthy_hosts),
                         AlarmDescription=f"{svc.name}: {a.unhealthy_hosts}+ unhealthy targets "
                                          "(alarms.unhealthy_hosts)",
                         **single, **common),
    ]
    for alarm in alarms:
        t.add_resource(alarm)
    service.DeploymentConfiguration.Alarms = ecs.DeploymentAlarms(AlarmNames=names, Enable=True, Rollback=True)
    service.DependsOn = [*service.DependsOn, *(alarm.title for alarm in alarms)]


def rate_queries(dims: list[cloudwatch.MetricDimension]) -> list[cloudwatch.MetricDataQuery]:
    def metric(qid: str, name: str) -> cloudwatch.MetricDataQuery:
        return cloudwatch.MetricDataQuery(Id=qid, ReturnData=False, MetricStat=cloudwatch.MetricStat(
            Metric=cloudwatch.Metric(Namespace=NAMESPACE, MetricName=name, Dimensions=dims),
            Period=MINUTE, Stat="Sum"))

    # FILL(..., 0): a minute without 5xx has no datapoint, and no requests must not divide by zero.
    return [metric("errors", "HTTPCode_Target_5XX_Count"), metric("requests", "RequestCount"),
            cloudwatch.MetricDataQuery(Id="rate", Label="5xx percent", ReturnData=True,
                                       Expression="IF(FILL(requests, 0) > 0, 100 * FILL(errors, 0) / requests, 0)")]
