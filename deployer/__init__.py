"""Deploying the generated templates, grouped by role (the import graph points one way: deploy.py ->
commands -> planning/presentation/aws -> generators):

- `commands/`: the verbs behind deploy.py (deploy, --plan/--execute, --destroy, --status, --publish,
  --logs, --releases/--rollback, --wake, --rotate-origin-secret) and the steps of one deploy.
- `planning/`: pure decisions: stack order, change-set arguments, status classification, property
  diffs, flag checks, cost estimates. No AWS SDK.
- `aws/`: `runner`, the only module that calls AWS; every function takes its client as an argument.
- `presentation/`: everything a person or CI reads (tables, progress lines, JSON, Mermaid).
- `emulator/`: the embedded moto server for --local and tests; the AWS path never imports it.

Nothing imports boto3 at module level outside `aws` and `emulator`, so `--synth` stays fast.
"""
