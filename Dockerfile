# syntax=docker/dockerfile:1
#
# Container images of mcp-server-runner. One binary, three images:
#
#   docker build -t mcp-server-runner .                       # scratch (default: the last stage)
#   docker build --target node   -t mcp-server-runner:node .  # + Node.js 22, for npx servers
#   docker build --target python -t mcp-server-runner:python . # + Python 3.12 and uv, for uvx servers
#
#   docker run --init -p 8080:8080 -e AUTH_TOKEN=... -e GITHUB_PERSONAL_ACCESS_TOKEN=...
#     -e PROGRAM=npx -e ARGS=-y,@modelcontextprotocol/server-github mcp-server-runner:node
#
# Run with --init (compose: `init: true`): tini becomes PID 1 and reaps
# orphans. The runner stops each MCP server's whole process group, but a
# grandchild that left its group would otherwise stay a zombie forever.
#
# Every image listens on 0.0.0.0:8080 as a non-root user. On a non-loopback
# address the runner requires a bearer token: set AUTH_TOKEN (or it generates
# one and prints it once). Variables that are not the runner's own (see
# `--help`) pass through to the MCP server.

# ---------------------------------------------------------------------------
# build: compile on the build machine's platform for the image's platform
# (`--target`), so no Deno runs under QEMU when building for another
# architecture. compile:all takes the permission flags from the `compile`
# task of deno.json.
# ---------------------------------------------------------------------------
FROM --platform=$BUILDPLATFORM denoland/deno:2.9.6 AS build
ARG TARGETARCH
WORKDIR /src
COPY deno.json deno.lock main.ts ./
COPY lib/ lib/
COPY scripts/compile_all.ts scripts/
RUN deno cache --frozen main.ts
RUN case "$TARGETARCH" in \
      amd64) target=x86_64-unknown-linux-gnu ;; \
      arm64) target=aarch64-unknown-linux-gnu ;; \
      *) echo "Cannot build for $TARGETARCH: amd64 or arm64 only" >&2; exit 1 ;; \
    esac \
 && deno task compile:all "$target" \
 && mv "dist/mcp-server-runner-$target" dist/mcp-server-runner

# ---------------------------------------------------------------------------
# rootfs: the shared libraries the binary needs plus the ELF loader, listed
# by `ldd` on the image's platform (a Deno binary needs glibc), each copied
# to its own path under /rootfs.
# ---------------------------------------------------------------------------
FROM denoland/deno:2.9.6 AS rootfs
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
COPY --from=build /src/dist/mcp-server-runner /mcp-server-runner
RUN mkdir /rootfs \
 && ldd /mcp-server-runner | grep -o '/[^ ]*' | sort -u \
    | while read -r lib; do cp --parents --dereference "$lib" /rootfs/; done \
 && ls -R /rootfs

# ---------------------------------------------------------------------------
# node: for MCP servers started with npx (PROGRAM=npx ARGS=-y,<package>).
# ---------------------------------------------------------------------------
FROM node:22-bookworm-slim AS node
COPY --from=build /src/dist/mcp-server-runner /usr/local/bin/mcp-server-runner
ENV HOST=0.0.0.0 PORT=8080
EXPOSE 8080
USER node
WORKDIR /home/node
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/mcp-server-runner", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/mcp-server-runner"]

# ---------------------------------------------------------------------------
# python: for MCP servers started with uvx (PROGRAM=uvx ARGS=<package>).
# ---------------------------------------------------------------------------
FROM python:3.12-slim AS python
RUN pip install --no-cache-dir uv \
 && useradd --create-home --uid 1000 --shell /usr/sbin/nologin mcp
COPY --from=build /src/dist/mcp-server-runner /usr/local/bin/mcp-server-runner
ENV HOST=0.0.0.0 PORT=8080
EXPOSE 8080
USER mcp
WORKDIR /home/mcp
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/mcp-server-runner", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/mcp-server-runner"]

# ---------------------------------------------------------------------------
# scratch (default): only the binary and its libraries. For MCP servers that
# are static binaries copied in by a derived image, or as the source of
# `COPY --from=<this image> /mcp-server-runner ...`.
# ---------------------------------------------------------------------------
FROM scratch AS scratch
COPY --from=rootfs /rootfs/ /
COPY --from=build /src/dist/mcp-server-runner /mcp-server-runner
ENV HOST=0.0.0.0 PORT=8080
EXPOSE 8080
USER 65534:65534
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/mcp-server-runner", "healthcheck"]
ENTRYPOINT ["/mcp-server-runner"]
