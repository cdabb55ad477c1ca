"""The core: the contract, the data model, options and profile, and the pure rules.

XML, schema, entropy, timing, prediction, wire spellings, files. It imports nothing else of the suite.
"""
