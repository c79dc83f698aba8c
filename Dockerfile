FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY trading trading
COPY exchanges exchanges
COPY store store
COPY workflows workflows
COPY activities activities
COPY agents agents
COPY api api
COPY worker worker
COPY data data
RUN pip install --no-cache-dir -e .
USER nobody
