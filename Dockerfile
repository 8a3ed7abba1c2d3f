# One image for every distributed service (migrate, worker, beat, web).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
COPY workers ./workers
RUN pip install --no-cache-dir .
COPY config ./config
RUN useradd --create-home earful
USER earful
CMD ["earful", "run"]
