# footfall's container image: a build stage that installs footfall into a virtual environment,
# and a slim runtime stage that runs it as an unprivileged user.
#
#   docker build -t footfall .
#   docker run -d -p 8000:8000 -v footfall-data:/data -e FOOTFALL_SECRET_KEY=... footfall
#
# Pin the base image by digest for reproducible builds (the release workflow does):
#   docker build --build-arg PYTHON_DIGEST=sha256:... -t footfall .
# Any Debian-based image with python3 (3.11 or later) and its venv module can be the base:
#   --build-arg PYTHON_IMAGE=registry.example.net/python:3.11-slim-bookworm
# Without access to a package index, put wheels in ./wheelhouse (pip wheel -w wheelhouse .)
# and build with --build-arg PIP_OPTIONS="--no-index --find-links /src/wheelhouse".
# docs/operations/install-compose.md explains the settings; docs/adr/0020 the choices.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG PYTHON_DIGEST=

FROM ${PYTHON_IMAGE}${PYTHON_DIGEST:+@}${PYTHON_DIGEST} AS build
ARG PIP_OPTIONS=""
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Only footfall's sources and package metadata reach the build (.dockerignore allows no more).
COPY . /src
# hadolint ignore=SC2086
RUN python3 -m venv /opt/footfall \
    && /opt/footfall/bin/pip install --no-cache-dir ${PIP_OPTIONS} "/src[postgres,vault]" \
    && /opt/footfall/bin/footfall --version

FROM ${PYTHON_IMAGE}${PYTHON_DIGEST:+@}${PYTHON_DIGEST} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="footfall" \
      org.opencontainers.image.description="Self-hosted, privacy-first web analytics compatible with Plausible's APIs" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"
# A fixed uid and gid, so a volume or a Kubernetes fsGroup can be prepared for them.
RUN groupadd --system --gid 10001 footfall \
    && useradd --system --uid 10001 --gid footfall --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin footfall \
    && mkdir /data \
    && chown footfall:footfall /data
COPY --from=build /opt/footfall /opt/footfall
ENV PATH=/opt/footfall/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FOOTFALL_HOST=0.0.0.0 \
    FOOTFALL_PORT=8000 \
    FOOTFALL_DATA_DIR=/data
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
# SIGTERM makes footfall stop accepting, finish requests in flight, journal and flush what is
# pending and checkpoint the event store; give it the time (docker stop -t, compose
# stop_grace_period, Kubernetes terminationGracePeriodSeconds): 30 s is plenty.
STOPSIGNAL SIGTERM
# Slim images have no curl: footfall probes itself (GET /healthz on loopback).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["footfall", "healthcheck"]
ENTRYPOINT ["footfall"]
CMD ["serve"]
