# wekube: multi-stage build, production dependencies only, runs as the unprivileged "node" user.
FROM node:26-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src src
COPY commands commands
RUN npm run build

FROM node:26-slim AS production-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts

FROM node:26-slim
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
