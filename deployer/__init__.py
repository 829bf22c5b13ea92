"""Deploying the generated templates: a pure planner, one runner that calls AWS, a tiny executor.

deploy.py parses and prints; `commands` orchestrates; `planner` decides; `runner` acts.
Nothing here imports boto3 at module level except `runner` and `local`, so `--synth` stays fast.
"""
