# One image for every process; the compose file picks the command.
FROM node:20-bookworm-slim
ENV NODE_ENV=production PNPM_HOME=/pnpm PATH=/pnpm:$PATH
# pnpm 10: from 12.13 on, a built-in `pnpm token` shadows the project's script
RUN npm install -g pnpm@10
WORKDIR /app
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json ./
COPY packages ./packages
COPY scripts ./scripts
COPY tsconfig.base.json tsconfig.json ./
RUN pnpm install --frozen-lockfile --prod
# no shared staging volume: with STAGING_BACKEND=fastdfs the API only keeps a body it is
# receiving in its own temp folder (STAGING_DIR, /tmp/staging in compose), created at start
USER node
