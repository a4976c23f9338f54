"""The ready-made stacks: data, not code (one folder per stack, ``stack.yml`` inside).

This file only makes the folder a package, so that pyproject.toml can ship it
as ``sparkswarm.stacks_data`` in a wheel and an editable install can map it
back here; :func:`sparkswarm.stacks.params.packaged_stacks_dir` finds it.
"""
