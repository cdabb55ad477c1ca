"""The contract implemented on real web stacks (FastAPI on uvicorn, Flask on gunicorn, aiohttp), and the
launcher tests/e2e/test_real_stacks.py starts them with: conforming targets the suite must pass (issue 20)."""
