"""`sparkswarm images ...`: build images locally, for machines without a registry."""

from __future__ import annotations

import typer

from sparkswarm.cli.common import JSON_OPTION

app = typer.Typer(help="Build images locally (no registry needed).", no_args_is_help=True)


@app.command("build")
def build(
    name: str = typer.Argument(
        ..., help="What to build: spark, or web (the demo web images v1 and v2)."
    ),
    base: str = typer.Option(
        None, "--base", help="Base image (default sparkswarm/base:bookworm, made with mmdebstrap)."
    ),
    tag: str = typer.Option(None, "--tag", "-t", help="Tag (default sparkswarm/spark:<version>)."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Build even if the tag exists."),
    cache_dir: str = typer.Option(
        None, "--cache-dir", help="Where pyspark is downloaded and unpacked once."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Build the Spark image (Java 17, Python 3.11, pinned pyspark) on the engine.

    With the default tag the image is also tagged apache/spark:<version>-python3,
    the spark stack's default image, so `stack deploy spark` needs no registry.
    """
    from sparkswarm.cli.common import console, perform, print_json

    params = {"name": name, "base": base, "tag": tag, "rebuild": rebuild, "cache_dir": cache_dir}
    result = perform("image.build", {k: v for k, v in params.items() if v is not None})
    if as_json:
        print_json(result)
        return
    verb = "built" if result.get("built") else "up to date"
    out = console()
    out.print(f"{result['image']} {verb} in {result['seconds']} s (base {result['base']})")
    for tag_name in result.get("tags", []):
        out.print(f"  tag {tag_name}", highlight=False)
    for note in result.get("notes", []):
        out.print(f"  note: {note}", highlight=False)
