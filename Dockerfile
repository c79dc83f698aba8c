# The console: built from its lock file, only the static files are kept.
FROM node:20-slim AS console
WORKDIR /console
COPY console/package.json console/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY console/ ./
RUN npm run build

FROM python:3.11-slim
WORKDIR /app
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
RUN pip install --no-cache-dir -c requirements.lock -e .
COPY --from=console /console/dist console/dist
USER nobody
