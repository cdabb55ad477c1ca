"""A session: RunOptions resolved into a live Run (target, key, users, transport, cassettes) and its ending.

Both front ends (CLI and pytest plugin) open sessions here; importers name the module that holds each part:
``plan`` (the options resolved into a SessionPlan, pure), ``found`` (what resolving reads from outside the
options), ``open`` (the report directory claimed; the target, transport and cassettes opened; a Run built
complete), ``live`` (the open Session: its tests and its ending), ``facts`` (what summary.json says about
the run), ``config`` (the config file), ``publish`` (the report files) and ``leaks`` (the last scan for
secrets).
"""
