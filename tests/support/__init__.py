"""What the tests share that is not a fixture: servers, the CLI in a subprocess, spellings, the stacks.

Support modules, never test modules: a test module imports from here (or takes a conftest fixture), never
from another test module (tests/unit/test_layout.py).
"""

from pathlib import Path

# The repository's root: every test that reads a repository file starts from here.
ROOT = Path(__file__).resolve().parents[2]
# The seed document, verbatim: the contract's source, cited by line.
SEED = ROOT / "schemas" / "login_token_seed.txt"
