# One image for both apps: `docker run oncehook ingest`, `… worker`, `… reconciler`.
# Not built by the test suite (it runs where Docker is not available): keep it small and obvious.

# Build: install every dependency, compile each app into one ES module (scripts/build.mjs).
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN npm install -g pnpm@10.34.8
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY apps/ingest/package.json apps/ingest/
COPY apps/worker/package.json apps/worker/
COPY packages/shared/package.json packages/shared/
COPY packages/testing/package.json packages/testing/
RUN pnpm install --frozen-lockfile
COPY . .
RUN node scripts/build.mjs

# Runtime dependencies only: the bundles import them from node_modules.
FROM build AS deps
RUN rm -rf node_modules apps/*/node_modules packages/*/node_modules \
  && pnpm install --frozen-lockfile --prod --filter @oncehook/ingest --filter @oncehook/worker

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY --from=deps /app/apps/ingest/node_modules apps/ingest/node_modules
COPY --from=deps /app/apps/worker/node_modules apps/worker/node_modules
COPY --from=build /app/apps/ingest/package.json apps/ingest/
COPY --from=build /app/apps/worker/package.json apps/worker/
COPY --from=build /app/apps/ingest/dist apps/ingest/dist
COPY --from=build /app/apps/worker/dist apps/worker/dist
USER node
EXPOSE 3000 9464
ENTRYPOINT ["/bin/sh", "-c", "case \"$0\" in ingest|worker) exec node --enable-source-maps apps/$0/dist/main.mjs ;; reconciler) exec node --enable-source-maps apps/ingest/dist/reconciler.mjs ;; *) exec \"$0\" \"$@\" ;; esac"]
CMD ["ingest"]
