"""The `alerts` stack: the environment's notification topic and the Bedrock spend guard.

One SNS topic (published as /<prefix>/alerts/topic-arn for every later alarm to reuse) with
the configured e-mail subscriptions; a CloudWatch alarm per configured model on Bedrock's
daily input and output token counts; optionally an AWS Budgets budget for Bedrock cost.

Bedrock's metrics are per account and region, not per environment: two environments in one
account and region watch the same numbers.
"""

from __future__ import annotations

import zlib

from troposphere import GetAtt, Output, Ref, Sub, Template, budgets, cloudwatch, kms, sns

from .common import logical_id, ssm_output
from .config import Config
from .naming import ALERTS_TOPIC_KEY, alerts_param

# A one-day window: Period x EvaluationPeriods may reach 7 days for periods of an hour or more.
DAY_SECONDS = 86400
TOKEN_METRICS = (("Input", "InputTokenCount", "daily_input_tokens"),
                 ("Output", "OutputTokenCount", "daily_output_tokens"))
BUDGET_ALERTS = (("ACTUAL", 80), ("FORECASTED", 100))  # e-mail at 80% spent and at 100% forecast


def build_alerts(cfg: Config) -> Template:
    t = Template(Description=f"{cfg.prefix} alerts: notification topic, Bedrock token alarms, budget")
    key = t.add_resource(topic_key(cfg))
    t.add_resource(kms.Alias("AlertsKeyAlias", AliasName=f"alias/{cfg.prefix}-alerts", TargetKeyId=Ref(key)))
    topic = t.add_resource(sns.Topic("AlertsTopic", TopicName=f"{cfg.prefix}-alerts",
                                     DisplayName=f"{cfg.prefix} alerts", KmsMasterKeyId=GetAtt(key, "Arn")))
    for email in cfg.env.spend_guard.alarm_emails:
        t.add_resource(sns.SubscriptionResource(
            logical_id("AlarmEmail", _short_hash(email)), TopicArn=Ref(topic), Protocol="email", Endpoint=email))
    for model in bedrock_models(cfg):
        for alarm in token_alarms(cfg, model, topic):
            t.add_resource(alarm)
    if cfg.env.spend_guard.monthly_budget_usd is not None:
        t.add_resource(bedrock_budget(cfg))
    ssm_output(t, alerts_param(cfg.prefix, ALERTS_TOPIC_KEY), Ref(topic), "SNS topic every alarm notifies")
    t.add_output(Output("TopicArn", Description="Alerts topic", Value=Ref(topic)))
    return t


def bedrock_models(cfg: Config) -> list[str]:
    """Every model any service may invoke, once each (the metrics are per model, not per service)."""
    return list(dict.fromkeys(m for svc in cfg.services for m in svc.bedrock_models))


def _short_hash(text: str) -> str:
    # Logical ids stay fixed when addresses are added or removed around them (no re-subscription).
    # crc32, not hashlib: loading OpenSSL costs --synth 5-10 ms, and this is no security use.
    return f"{zlib.crc32(text.lower().encode()):08x}"


def topic_key(cfg: Config) -> kms.Key:
    """A customer managed key: CloudWatch cannot publish to a topic under the AWS managed aws/sns key,
    whose key policy cannot be changed to let cloudwatch.amazonaws.com use it."""
    account = Sub("${AWS::AccountId}")
    return kms.Key(
        "AlertsKey", Description=f"{cfg.prefix} alerts topic encryption", EnableKeyRotation=True,
        # The key protects only notifications in flight (SNS keeps none): no reason to outlive its topic.
        PendingWindowInDays=7, DeletionPolicy="Delete", UpdateReplacePolicy="Delete",
        KeyPolicy={"Version": "2012-10-17", "Statement": [
            {"Sid": "AccountAdministersTheKey", "Effect": "Allow",
             "Principal": {"AWS": Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "CloudWatchAlarmsPublishToTheTopic", "Effect": "Allow",
             "Principal": {"Service": "cloudwatch.amazonaws.com"},
             "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
             "Condition": {"StringEquals": {"aws:SourceAccount": account}}},
        ]},
    )


def token_alarms(cfg: Config, model: str, topic: sns.Topic) -> list[cloudwatch.Alarm]:
    guard = cfg.env.spend_guard
    alarms = []
    for word, metric, field in TOKEN_METRICS:
        threshold = getattr(guard, field)
        alarms.append(cloudwatch.Alarm(
            logical_id(model, word, "TokensAlarm"),
            AlarmName=f"{cfg.prefix}-bedrock-{word.lower()}-tokens-{_alarm_safe(model)}",
            AlarmDescription=f"Bedrock {word.lower()} tokens of {model} over {threshold} in a day "
                             f"(account-wide in this region; spend_guard.{field})",
            Namespace="AWS/Bedrock", MetricName=metric,
            Dimensions=[cloudwatch.MetricDimension(Name="ModelId", Value=model)],
            Statistic="Sum", Period=DAY_SECONDS, EvaluationPeriods=1, DatapointsToAlarm=1,
            Threshold=float(threshold), ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="notBreaching", AlarmActions=[Ref(topic)],
        ))
    return alarms


def _alarm_safe(model: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in model)


def bedrock_budget(cfg: Config) -> budgets.Budget:
    guard = cfg.env.spend_guard
    subscribers = [budgets.Subscriber(SubscriptionType="EMAIL", Address=e) for e in guard.alarm_emails]
    return budgets.Budget(
        "BedrockBudget",
        Budget=budgets.BudgetData(
            BudgetName=f"{cfg.prefix}-bedrock-monthly", BudgetType="COST", TimeUnit="MONTHLY",
            BudgetLimit=budgets.Spend(Amount=float(guard.monthly_budget_usd or 0), Unit="USD"),
            CostFilters={"Service": list(guard.budget_services)},
        ),
        # E-mail subscribers directly: an SNS subscriber would need a topic policy and key grant for
        # budgets.amazonaws.com, for the same addresses.
        NotificationsWithSubscribers=[budgets.NotificationWithSubscribers(
            Notification=budgets.Notification(NotificationType=kind, ComparisonOperator="GREATER_THAN",
                                              Threshold=float(pct), ThresholdType="PERCENTAGE"),
            Subscribers=subscribers) for kind, pct in BUDGET_ALERTS],
    )
