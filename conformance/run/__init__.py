"""A run.

The engine that sends cases and judges every exchange, Hypothesis and stateful exploration, re-judging of a
recording, the preflight and the misconfiguration rules.
"""
