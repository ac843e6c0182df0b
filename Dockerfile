# syntax=docker/dockerfile:1
# podflow's container image. The build stage compiles bpf/ (CO-RE, embedded in
# the ebpf addon as a libbpf skeleton) and the N-API addons in native/ with the
# same set-up scripts a developer machine runs, and src/ into JavaScript
# (dist/); the runtime stage is the same Node, slim, with only the compiled
# app, its production node_modules and the addons.
#
# Both stages use the Node version package.json pins (devDependency "node");
# test/deploy/dockerfile.test.ts keeps the two in step.
#
#   docker build -t REGISTRY/podflow:0.1.0 .
#
# The build reads the build host's /sys/kernel/btf/vmlinux to generate
# vmlinux.h (CO-RE: the object then loads on any kernel with BTF), so build on
# a Linux host whose kernel has BTF (CONFIG_DEBUG_INFO_BTF, most distributions
# since 5.4).

FROM node:24.21.0-bookworm-slim AS build
# clang/llvm + libbpf-dev + bpftool: bpf/ and its skeleton; libelf/zlib: what
# libbpf links against; g++/make/python3: node-gyp for native/.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool g++ make python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# node-gyp builds against this image's own Node headers (/usr/local/include/node)
# instead of downloading them.
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY bpf/ bpf/
COPY native/ native/
COPY scripts/ scripts/
COPY tsconfig.json tsconfig.build.json ./
COPY src/ src/
# The JavaScript podflow runs: src/ compiled into dist/ (type stripping at load
# time would cost every thread of the agent tens of MiB).
RUN bash scripts/setup.d/10-build.sh
# The build steps of scripts/setup.d that compile code (their mounts, modprobe
# and sysctls fail harmlessly here: they are for a developer machine); the
# other steps install test tools and have no place in an image.
RUN bash scripts/setup.d/20-ebpf.sh \
 && bash scripts/setup.d/30-conntrack.sh
# Only the compiled addons go to the runtime stage, at the paths
# src/native/load-addon.ts looks in.
RUN for f in native/*/build/Release/*.node; do install -D -m 0644 "$f" "/out/$f"; done
RUN npm prune --omit=dev --no-audit --no-fund

FROM node:24.21.0-bookworm-slim
# The ebpf addon links libbpf (and through it libelf and zlib) dynamically.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libbpf1 libelf1 zlib1g \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules/ node_modules/
COPY --from=build /out/native/ native/
COPY package.json ./
COPY --from=build /app/dist/ dist/
COPY bin/ bin/
COPY config/ config/
# bin/podflow runs node_modules/.bin/node, the pinned Node that the "node"
# devDependency installs on a developer machine; in the image that Node is the
# base image's own, of the same version, and the dev dependency is pruned.
RUN mkdir -p node_modules/.bin && ln -sf /usr/local/bin/node node_modules/.bin/node
ENTRYPOINT ["/app/bin/podflow"]
CMD ["run", "--config", "/etc/podflow/config.yaml"]
