"""Talking to a target.

The httpx transport with its rails, the bounded network backend, raw HTTP/1.1 probes, where an address leads,
and the QR fetch.
"""
