# syntax=docker/dockerfile:1
# The one image of fraudstream: model service, stream, producer, challenger, trainer, dashboard
# and the one-shot jobs all run it with a different `fraudstream ...` command.
#
#   docker build -t fraudstream .
#   docker run --rm fraudstream --help

ARG PYTHON_VERSION=3.11

# -- build: resolve and install the package into a virtualenv, pinned by constraints.txt ------
FROM python:${PYTHON_VERSION}-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 UV_LINK_MODE=copy
RUN pip install "uv>=0.5"
WORKDIR /src
# dependencies first, so a code change does not reinstall them
COPY pyproject.toml constraints.txt README.md ./
RUN mkdir -p src/fraudstream && touch src/fraudstream/__init__.py \
    && uv venv /opt/venv \
    && uv pip install --python /opt/venv/bin/python -c constraints.txt .
COPY src ./src
RUN uv pip install --python /opt/venv/bin/python -c constraints.txt --no-deps --reinstall .

# -- runtime: the virtualenv and nothing of the build tools --------------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
# libgomp: the OpenMP runtime XGBoost and scikit-learn load
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --create-home --home-dir /var/lib/fraudstream fraudstream
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    FRAUD_HOME=/var/lib/fraudstream
USER fraudstream
WORKDIR /var/lib/fraudstream
ENTRYPOINT ["fraudstream"]
CMD ["--help"]
