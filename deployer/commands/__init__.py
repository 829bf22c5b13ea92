"""The verbs behind deploy.py, each calling the runner and the reporter."""
