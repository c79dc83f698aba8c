# The ASTS image: the API, the worker and the one-shot migrate job of docker-compose.yml all run it.

# The console: built from its lock file with the Node release CI builds it with; only the static
# files are kept.
FROM node:20.20.2-bookworm-slim AS console
WORKDIR /console
COPY console/package.json console/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY console/ ./
RUN npm run build

FROM python:3.11.15-slim-trixie
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ASTS_HOME=/var/lib/asts
# The user the processes run as, with fixed ids so the state volume's owner stays the same across
# rebuilds. A new named volume mounted at /var/lib/asts takes this directory's owner.
RUN groupadd --system --gid 10001 asts \
    && useradd --system --uid 10001 --gid asts --home-dir /var/lib/asts --no-create-home \
        --shell /usr/sbin/nologin asts \
    && install -d -o asts -g asts -m 0750 /var/lib/asts
WORKDIR /app
# Every runtime package of pyproject.toml's [tool.setuptools.packages.find], the bundled data and
# the Alembic config (the migrate job runs `alembic -c alembic.ini upgrade head` here); not bench/
# or tests/.
COPY pyproject.toml requirements.lock README.md alembic.ini ./
COPY asts asts
COPY trading trading
COPY exchanges exchanges
COPY store store
COPY workflows workflows
COPY activities activities
COPY agents agents
COPY api api
COPY worker worker
COPY data data
# The versions CI tested (requirements.lock as constraints). Editable, not a wheel: the code finds
# data/ (exchanges/data.py) and console/dist (api/pages.py) next to its packages, so the packages
# stay in /app rather than in site-packages. Compiled here, as the runtime user cannot write /app.
RUN pip install --no-cache-dir -c requirements.lock -e . \
    && python -m compileall -q asts trading exchanges store workflows activities agents api worker
COPY --from=console /console/dist console/dist
USER asts
VOLUME ["/var/lib/asts"]
# The API, the worker's metrics and the Temporal SDK's metrics.
EXPOSE 8000 9464 9465
