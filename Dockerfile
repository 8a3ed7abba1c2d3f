# One image for every distributed service (migrate, worker, beat, web); see docker-compose.yml.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
COPY workers ./workers
RUN pip install --no-cache-dir .
COPY config ./config
RUN useradd --create-home earful
USER earful
ENV EARFUL_CONFIG=/app/config
CMD ["earful", "run"]
