# syntax=docker/dockerfile:1
# Flattr REST API v2-compatible server. TypeScript runs directly through tsx (a runtime dependency),
# so there is no build step: the image holds the production dependencies and the sources.

# --- deps: production dependencies only, exactly as package-lock.json pins them ---------------------
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime ---------------------------------------------------------------------------------------
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production PORT=3000 DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json mikro-orm.config.ts ./
COPY src/ ./src/
COPY schema/ ./schema/
COPY rest-facade/ ./rest-facade/
# Without DATABASE_URL the server starts an embedded PostgreSQL in DATA_DIR; give the unprivileged user
# a place for it (mount a volume on /data to keep it). With DATABASE_URL (docker-compose.yml) it stays empty.
RUN mkdir -p /data && chown node:node /data
# The official image's unprivileged user (uid 1000); the application files stay owned by root, read-only to it.
USER node
EXPOSE 3000
# Ready = database reachable, migrations applied, Redis reachable when configured (GET /readyz, 503 otherwise).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Same as `npm start` (tsx src/server/main.ts) without npm and tsx's extra processes in between,
# so SIGTERM from `docker stop` reaches the server directly: it stops accepting, lets requests in flight finish
# (SHUTDOWN_TIMEOUT_MS, 8 s by default, inside `docker stop`'s 10 s), closes its connections and exits 0.
STOPSIGNAL SIGTERM
CMD ["node", "--import", "tsx", "src/server/main.ts"]
