"""Reports for people: rich tables in the terminal, PNG charts, self-contained HTML."""
