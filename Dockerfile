# The Narrator Discord bot. Build:  docker build -t narrator .
# Run:    docker run --env-file .env narrator     (docker stop = SIGTERM → graceful shutdown within 10 s)
#
# Two stages: the first has a compiler so @discordjs/opus can build its native module when no prebuilt binary
# matches; the second is the slim runtime with production dependencies only. tsx is a production dependency:
# the bot runs its TypeScript directly, there is no separate build step.

FROM node:22-slim AS deps
# python3/make/g++: node-gyp's needs, for @discordjs/opus when its prebuilt binary cannot be fetched.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .npmrc* ./
# Exactly the lockfile, no devDependencies (the `node` package, TypeScript, types). Install scripts run for the
# packages listed under "allowScripts" in package.json (@discordjs/opus builds or downloads its binary).
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

FROM node:22-slim
ENV NODE_ENV=production \
    CACHE_DIR=/app/.cache/narrator \
    DATABASE_URL=sqlite:/app/data/narrator.db
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY scripts ./scripts
# The bot writes two things, both owned by the unprivileged user: the synthesized-chunk cache, and the SQLite
# database (settings, usage, the queue kept across restarts) — mount a volume at /app/data to keep it across
# containers (`docker run -v narrator-data:/app/data …`), or set DATABASE_URL=postgres://… instead.
RUN mkdir -p /app/.cache/narrator /app/data && chown -R node:node /app/.cache /app/data
VOLUME ["/app/data"]
USER node
# The bot itself is PID 1 — node with tsx's loader, the same command line as `npm start` — so `docker stop`'s
# SIGTERM reaches it directly and it shuts down gracefully (it handles SIGTERM/SIGINT itself, src/index.ts).
# Not `npm start`: npm would stand between Docker and the bot. It spawns no child processes, so needs no init
# for reaping (`docker run --init` does no harm). Register the slash commands once with:
#   docker run --env-file .env narrator node --import tsx scripts/deploy-commands.ts
CMD ["node", "--import", "tsx", "src/index.ts"]
