"""`--wake SERVICE`: start a service now that its working-hours schedule keeps at zero.

Sets the service's scalable target back to its floor (min_count, at least one task) and its
desired count to that floor, through the runner, as the schedule's wake action would. It lasts
until the schedule's next sleep action, which sets floor and ceiling to zero as usual; a service
without a schedule just gets its floor back. Nothing is changed in CloudFormation: the next
deploy leaves the target alone unless its template changed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from deployer.aws import operations, runner, storage
from deployer.commands import preflight
from deployer.commands.deploy import EXIT_OK, Options, connect, prepare
from deployer.errors import UsageError
from generators.naming import network_param, stack_name
from generators.schedule_config import next_sleep


def wake(opts: Options, service: str, now: datetime | None = None) -> int:
    s = prepare(opts, need_stacks=False)
    specs = {svc.name: svc for svc in s.cfg.services}
    if service not in specs:
        raise UsageError(f"--wake {service}: no such service (expected one of: {', '.join(specs)})")
    spec = specs[service]
    clients = connect(s, opts)
    preflight.identity(clients, s.cfg)
    stack = stack_name(s.cfg.prefix, service)
    arn = runner.stack_resource(clients.cf, stack, "Service")
    cluster = storage.get_parameters(clients.ssm, [network_param(s.cfg.prefix, "ecs-cluster-name")])
    if not arn or not cluster:
        raise UsageError(f"--wake {service}: stack {stack} or its cluster is not deployed — deploy it first: "
                         f"python deploy.py --stack {service} {opts.rerun}")
    cluster_name = next(iter(cluster.values()))
    resource_id = f"service/{cluster_name}/{arn.rsplit('/', 1)[-1]}"
    ecs, aas = runner.wake_clients(clients)
    floor = max(spec.min_count, 1)
    if operations.scalable_target(aas, resource_id) is not None:
        operations.set_scalable_floor(aas, resource_id, floor, spec.max_count)
    operations.set_desired_count(ecs, cluster_name, arn, floor)
    until = ""
    if s.cfg.env.schedule is not None:
        sleep = next_sleep(s.cfg.env.schedule, now or datetime.now(UTC))
        until = f", until the schedule's next sleep, {sleep:%a %Y-%m-%d %H:%M} {s.cfg.env.schedule.timezone}"
    s.report.line(f"woke {service}: {floor} task(s), scaling {floor}..{spec.max_count}{until}")
    return EXIT_OK
