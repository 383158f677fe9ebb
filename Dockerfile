# One image for every process; the compose file picks the command. Two stages: the build stage
# compiles the TypeScript with every dependency installed, the runtime stage holds only the
# compiled JavaScript and production dependencies, run by plain `node` (no tsx, no compiler).

FROM node:20-bookworm-slim AS build
ENV PNPM_HOME=/pnpm PATH=/pnpm:$PATH CI=true
# pnpm 10: from 12.13 on, a built-in `pnpm token` shadows the project's script
RUN npm install -g pnpm@10
WORKDIR /src
# the store is filled from the lockfile alone, so this layer stays cached until dependencies change
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN pnpm fetch
COPY package.json tsconfig.base.json tsconfig.json ./
COPY scripts ./scripts
COPY packages ./packages
RUN pnpm install --frozen-lockfile --offline
RUN pnpm build
# Each process's package with its production dependencies only, from a lockfile pnpm derives
# from the workspace's; workspace dependencies come along as copies holding their dist/ (each
# package's `files`). pnpm 10's deploy wants injected workspace packages: set for these commands
# only, as development links them (--legacy would instead copy every workspace package and its
# dependencies, sharp into the API's tree included). sharp's prebuilt libvips for this platform
# is an optional dependency of the worker and is kept.
RUN pnpm --filter @avatar/api --prod --config.inject-workspace-packages=true deploy /out/api \
 && pnpm --filter @avatar/worker --prod --config.inject-workspace-packages=true deploy /out/worker \
 && pnpm --filter @avatar/shared --prod --config.inject-workspace-packages=true deploy /out/shared

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# /app/api, /app/worker, /app/shared: owned by root, read-only to the process
COPY --from=build /out /app
# no shared staging volume: with STAGING_BACKEND=fastdfs the API only keeps a body it is
# receiving in its own temp folder (STAGING_DIR, /tmp/staging in compose), created at start
USER node
# the API; the worker is `node /app/worker/dist/start/worker.js`, migrations
# `node /app/shared/dist/start/migrate.js`, a bearer token `node /app/api/dist/start/token.js 1`
CMD ["node", "/app/api/dist/start/api.js"]
