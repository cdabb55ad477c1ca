"""Secrets and their spellings.

Where a credential stands, the views a secret is searched in, the run's secret book, and the redaction of what
may be shown.
"""
