# The suite as a container image: Python, the suite (its wheel, dependencies pinned by requirements.lock)
# and the pinned Allure (npm ci from the lock in the wheel). No browser: reports need none.
#   docker build -t login-token-conformance .
#   docker run --rm -v "$PWD/reports:/work/reports" login-token-conformance                  # the demo replay
#   docker run --rm -e CONFORMANCE_API_KEY -v "$PWD/reports:/work/reports" login-token-conformance \
#       run --target https://staging.example.com --user-id 12345 --foreign-user-id 54321
#   docker run --rm -v "$PWD/reports:/work/reports" login-token-conformance report
FROM node:20-bookworm-slim AS base
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv git \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/conformance
ENV PATH=/opt/conformance/bin:$PATH

FROM base AS wheel
WORKDIR /src
COPY . .
RUN python -m pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock \
    && python -m pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /dist .

FROM base
COPY requirements.lock /tmp/requirements.lock
COPY --from=wheel /dist/ /tmp/dist/
RUN python -m pip install --no-cache-dir --require-hashes --no-deps -r /tmp/requirements.lock \
    && python -m pip install --no-cache-dir --no-deps /tmp/dist/*.whl \
    && rm -rf /tmp/dist /tmp/requirements.lock \
    && useradd --create-home conformance
USER conformance
ENV XDG_CACHE_HOME=/home/conformance/.cache
RUN python -c "from conformance.results.report.html import install_allure; print(install_allure())"
WORKDIR /work
ENTRYPOINT ["conformance"]
CMD ["run", "--demo"]
