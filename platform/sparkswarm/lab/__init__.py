"""``sparkswarm lab``: a real multi-node swarm on one Linux machine.

Each node is a Docker Engine in its own network namespace (and hostname) on
the ``ssw-br0`` bridge; the lab is its own swarm, separate from the
machine's engine. Modules:

- :mod:`~sparkswarm.lab.backend`: a node's record, the backend interface and
  the network-namespace backend;
- :mod:`~sparkswarm.lab.host`: host requirements and host-level chores;
- :mod:`~sparkswarm.lab.addresses`: bridge addresses, claimed atomically;
- :mod:`~sparkswarm.lab.state`: the lab's state file and the node plan;
- :mod:`~sparkswarm.lab.lifecycle`: up, down, kill, restore;
- :mod:`~sparkswarm.lab.status`: status, env, waiting for readiness;
- :mod:`~sparkswarm.lab.images`: copying images into the nodes.
"""
