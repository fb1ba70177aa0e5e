# One image for the demo's processes: `docker run oncehook ingest`, `… worker`, `… reconciler`.
# Not built by the test suite (it runs where Docker is not available): keep it small and obvious.
# (Your own project needs no image of ours: it installs @oncehook/worker and @oncehook/ingest.)

# Build: install every dependency, compile each process into one ES module (scripts/build.mjs).
FROM node:22-bookworm-slim AS build
WORKDIR /app
RUN npm install -g pnpm@10.34.8
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY apps/ingest/package.json apps/ingest/
COPY apps/worker/package.json apps/worker/
COPY apps/reconciler/package.json apps/reconciler/
COPY packages/shared/package.json packages/shared/
COPY packages/testing/package.json packages/testing/
COPY examples/payments/package.json examples/payments/
RUN pnpm install --frozen-lockfile
COPY . .
RUN node scripts/build.mjs

# Runtime dependencies only: the bundles import them from node_modules (hoisted to the root).
FROM build AS deps
RUN rm -rf node_modules apps/*/node_modules packages/*/node_modules examples/*/node_modules \
  && pnpm install --frozen-lockfile --prod --filter @oncehook/example-payments --filter @oncehook/reconciler

FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY --from=build /app/examples/payments/dist examples/payments/dist
COPY --from=build /app/apps/reconciler/dist apps/reconciler/dist
USER node
EXPOSE 3000 9464
ENTRYPOINT ["/bin/sh", "-c", "case \"$0\" in ingest|worker) exec node --enable-source-maps examples/payments/dist/$0.mjs ;; reconciler) exec node --enable-source-maps apps/reconciler/dist/main.mjs ;; *) exec \"$0\" \"$@\" ;; esac"]
CMD ["ingest"]
