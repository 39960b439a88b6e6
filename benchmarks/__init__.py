"""Scripts that print figures; each takes ``--json`` for machines (``python -m benchmarks.<name> --help``)."""
