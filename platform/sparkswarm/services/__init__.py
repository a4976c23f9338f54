"""Swarm services: pure flag/spec translation (flags, specs, changes), the
operations on a real engine (ops, logs) and the waiting they need (rolling).
"""
