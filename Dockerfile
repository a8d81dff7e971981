# One image for every process of Producer Dashboard. The default command runs the web process; docker-compose.yml
# runs the same image as `migrate` (node dist/src/database/migrate.js) and `worker` (node dist/src/worker.js).
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: compile TypeScript with the dev dependencies --------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: compiling needs none, and they would only prepare dev-only tools.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

# ---- runtime: production dependencies, compiled code, views and static files ------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# V8's young generation at Node 20's size (16 MB semi-spaces): Node 22+ sizes it from the host's memory, up to 64 MB,
# and the app at rest then holds ~40 MB more (the upload bench: 251 vs 210 MB) with no speed to show for it. Every
# process of the image (web, worker, migrate) gets it; a deployment can set NODE_OPTIONS itself.
ENV NODE_OPTIONS=--max-semi-space-size=16
WORKDIR /app
# ffmpeg (Debian's) builds the previews listen-only recipients hear.
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# Native parts (argon2, msgpackr) come as prebuilt optional packages, so no install script has to run.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
COPY views ./views
COPY public ./public
# The official image's unprivileged user. It writes only to the upload spool (SPOOL_DIR, default .data/spool),
# which compose mounts as a volume: a new volume takes this folder's owner.
RUN mkdir -p .data/spool && chown -R node:node .data
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/main.js"]
