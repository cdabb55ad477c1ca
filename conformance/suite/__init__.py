"""The conformance tests: pytest modules over the `conformance` fixture, one cassette per test."""
