# The gateway as an image: `docker build -t instance-gateway .`
# Configure it with GATEWAY_* variables (see README); it needs GATEWAY_JWT_SECRET or
# GATEWAY_JWT_PUBLIC_KEY_FILE, or it refuses to start: it listens on every interface, where the
# embedded store's published development secret is served only with
# `serve --allow-dev-secret-on-network`. The demo: `docker run -p 8000:8000 instance-gateway
# instance-gateway serve --demo --host 0.0.0.0 --allow-dev-secret-on-network`.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/instance-gateway
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
# A regular (not editable) install into a venv that the final stage copies whole: no source
# tree, build tools or pip cache in the image. Both stages share the base, so its paths hold.
RUN /opt/instance-gateway/bin/pip install .

FROM python:3.11-slim
ENV PATH=/opt/instance-gateway/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN useradd --system --user-group --uid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin gateway
COPY --from=build /opt/instance-gateway /opt/instance-gateway
# Worker processes serving the port: one a core the container may use. More than one needs
# GATEWAY_MONGODB_URL (each worker would hold an embedded store of its own).
ENV GATEWAY_WORKERS=1
# An empty working directory: the settings also read a `.env` from here, and none belongs in the image.
WORKDIR /srv/instance-gateway
# Numeric, so that runtimes which check for a non-root user (Kubernetes runAsNonRoot) can tell.
USER 10001:10001
EXPOSE 8000
# No curl in slim images: Python asks /healthz itself (exit 0 on 200, 1 otherwise or on no answer).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
CMD ["instance-gateway", "serve", "--host", "0.0.0.0", "--port", "8000"]
