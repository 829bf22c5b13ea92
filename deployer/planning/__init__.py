"""Pure decisions: plans, diffs, flag checks, cost estimates. No AWS SDK, no I/O beyond files."""
