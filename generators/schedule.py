"""Working hours as Application Auto Scaling scheduled actions on a service's scalable target.

Per window: at its start the target's floor goes back to the service's minimum (at least one task),
at its end floor and ceiling go to zero, Monday to Friday, in the schedule's own time zone (the
action's Timezone, so daylight saving time moves with it). Weekends stay at zero from Friday's last
sleep to Monday's first wake. A stack update does not reset a sleeping service: CloudFormation
only writes MinCapacity/MaxCapacity to the target when they change in the template.
"""

from __future__ import annotations

from troposphere import applicationautoscaling as aas

from .config import ServiceSpec
from .schedule_config import Schedule


def cron(minute_of_day: int) -> str:
    return f"cron({minute_of_day % 60} {minute_of_day // 60} ? * MON-FRI *)"


def scheduled_actions(schedule: Schedule, svc: ServiceSpec) -> list[aas.ScheduledAction]:
    awake = max(svc.min_count, 1)  # a floor of 0 would leave a woken service asleep
    actions = []
    for i, (start, end) in enumerate(schedule.windows, start=1):
        suffix = "" if len(schedule.windows) == 1 else f"-{i}"
        actions += [
            aas.ScheduledAction(
                ScheduledActionName=f"{svc.name}-wake{suffix}", Schedule=cron(start), Timezone=schedule.timezone,
                ScalableTargetAction=aas.ScalableTargetAction(MinCapacity=awake, MaxCapacity=svc.max_count)),
            aas.ScheduledAction(
                ScheduledActionName=f"{svc.name}-sleep{suffix}", Schedule=cron(end), Timezone=schedule.timezone,
                ScalableTargetAction=aas.ScalableTargetAction(MinCapacity=0, MaxCapacity=0)),
        ]
    return actions
