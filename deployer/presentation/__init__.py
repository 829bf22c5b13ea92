"""Everything a person or CI reads: tables, progress lines, JSON."""
