"""Stacks: our own compose-file deployer, equivalent to ``docker stack deploy``.

Pure parts: :mod:`.interpolate`, :mod:`.compose_load` (with
:mod:`.compose_schema` checked by jsonschema, :mod:`.compose_normalise`,
:mod:`.compose_merge`),
:mod:`.convert` and :mod:`.plan`. I/O parts: :mod:`.deploy` and
:mod:`.snapshots`, which talk to the engine through the gateway only.
"""
