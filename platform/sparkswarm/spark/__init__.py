"""Spark on the swarm: the pinned version, jobs (``spark.submit``) and cluster status.

The cluster itself is the ready-made stack ``stacks/spark/`` (deployed by
the stack deployer); this package works with a deployed one.
"""
