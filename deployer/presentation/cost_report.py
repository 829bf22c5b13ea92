"""`deploy.py --cost` output: aligned tables per stack with totals and notes, or one JSON document."""

from __future__ import annotations

from typing import Any

from deployer.planning.cost import CostReport
from deployer.planning.prices import option_effects, price_text


def format_report(report: CostReport) -> str:
    """One aligned table per stack, its total, its notes, then the grand total."""
    p = report.prices
    header = ("item", "resource", "quantity", "unit", "unit USD", "monthly USD")
    tables = [[(ln.item, ln.resource, f"{ln.quantity:,.2f}", ln.unit, price_text(ln.unit_usd),
                f"{ln.monthly_usd:,.2f}") for ln in s.lines] for s in report.stacks]
    every_row = [header, *(row for table in tables for row in table)]
    widths = [max(len(row[i]) for row in every_row) for i in range(len(header))]
    numeric = {2, 4, 5}

    def fmt(cells: tuple[str, ...]) -> str:
        cols = enumerate(zip(cells, widths, strict=True))
        return "  " + "  ".join(c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in cols)

    def total(label: str, usd: float) -> str:
        return label.ljust(len(fmt(header)) - widths[-1]) + f"{usd:,.2f}".rjust(widths[-1])

    out = [f"Estimated idle monthly cost, {p.region}, USD "
           f"({p.hours_per_month:g} h/month, prices as of {p.as_of}; deployer/planning/prices.json)"]
    if p.warning:
        out.append(f"  ({p.warning.removeprefix('warning: ')})")
    for stack, rows in zip(report.stacks, tables, strict=True):
        out += ["", stack.stack, fmt(header), *(fmt(r) for r in rows)]
        out.append(total(f"  {stack.stack} total", stack.monthly_usd))
        out += [f"  note: {n}" for n in stack.notes]
    out += ["", total("TOTAL", report.monthly_usd)]
    out += ["", f"What the options change here ({p.region}, per month):", *(f"  {o}" for o in option_effects(p))]
    if p.base_rates:
        out.append(f"  note: not in the {p.region} table, priced at the base region's rate: {', '.join(p.base_rates)}")
    return "\n".join(out) + "\n"


def report_to_json(report: CostReport) -> dict[str, Any]:
    p = report.prices
    return {
        "region": p.region,
        "currency": "USD",
        "hours_per_month": p.hours_per_month,
        "prices_as_of": p.as_of,
        "assumptions": dict(p.assumptions),
        "warning": p.warning,
        "options": option_effects(p),
        "stacks": {
            s.stack: {
                "lines": [{"item": ln.item, "resource": ln.resource, "quantity": round(ln.quantity, 4),
                           "unit": ln.unit, "unit_usd": ln.unit_usd, "monthly_usd": round(ln.monthly_usd, 2)}
                          for ln in s.lines],
                "notes": list(s.notes),
                "monthly_usd": round(s.monthly_usd, 2),
            }
            for s in report.stacks
        },
        "total_monthly_usd": round(report.monthly_usd, 2),
    }
