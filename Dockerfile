# wekube: multi-stage build, production dependencies only, runs as the unprivileged "node" user.
# Node 20, the major the tests run on. better-sqlite3 is a native module: its install script fetches a prebuilt
# binary or compiles SQLite, hence the build tools in the dependency stage only.
# Mirrors for teams in mainland China: NODE_IMAGE, NPM_REGISTRY and DEBIAN_MIRROR (see README).
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
ARG NPM_REGISTRY=https://registry.npmjs.org/
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm config set registry "$NPM_REGISTRY" && npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src src
COPY commands commands
RUN npm run build

FROM ${NODE_IMAGE} AS production-deps
ARG NPM_REGISTRY=https://registry.npmjs.org/
ARG DEBIAN_MIRROR=
RUN if [ -n "$DEBIAN_MIRROR" ]; then sed -i "s/deb.debian.org/$DEBIAN_MIRROR/g" /etc/apt/sources.list.d/debian.sources; fi \
 && apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm config set registry "$NPM_REGISTRY" && npm ci --omit=dev

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    WEKUBE_CONFIG=/app/config/wekube.yaml \
    WEKUBE_DATA_DIR=/var/lib/wekube
WORKDIR /app
COPY --from=production-deps /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json ./
COPY config config
RUN mkdir -p /var/lib/wekube && chown node:node /var/lib/wekube
USER node
VOLUME /var/lib/wekube
EXPOSE 8080
CMD ["node", "dist/src/main.js"]
