# syntax=docker/dockerfile:1
# Multi-stage image: build with dev dependencies, run with production ones as a non-root user.
# Node 20 is pinned: the native uWebSockets.js addon supports it (glibc >= 2.36, Debian bookworm).
FROM node:20-bookworm-slim AS build
WORKDIR /app
ENV MONGOMS_DISABLE_POSTINSTALL=1
COPY package.json package-lock.json ./
# npm ci's postinstall makes the uWebSockets.js addon load on glibc 2.36 (bookworm).
COPY scripts/uws-glibc-compat.mjs ./scripts/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json tsconfig.image.json ./
COPY api ./api
COPY signal ./signal
COPY shared ./shared
COPY config ./config
COPY scripts ./scripts
# Benchmarks and tests are development tools: the image compiles the product only.
RUN npx tsc -p tsconfig.image.json && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 API_PORT=3000 SIGNAL_PORT=3001 DATA_DIR=/var/lib/vidivo
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --from=build --chown=node:node /app/package.json ./package.json
RUN mkdir -p /var/lib/vidivo && chown node:node /var/lib/vidivo
USER node
EXPOSE 3000 3001
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.API_PORT||3000)+'/health-check').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "dist/scripts/cli.js"]
CMD ["all"]
