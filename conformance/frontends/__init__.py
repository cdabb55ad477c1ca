"""The ways in.

The click CLI, the thin pytest plugin, the in-process runner, the embedded reference as a local target and
the selftest.
"""
