"""The ``sparkswarm`` command line (typer + rich). Heavy modules load lazily."""
