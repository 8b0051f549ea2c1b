# One image for every service of docker-compose.yml; the command picks the role:
#   node dist/platform/broker-main.js | provisioner-main.js | api-main.js | main.js (all-in-one)
# The build stage compiles (better-sqlite3's binding where no prebuilt fits, and the TypeScript);
# the runtime stage gets only what runs: compiled JavaScript and production dependencies.

FROM node:24-bookworm-slim AS build
# better-sqlite3 compiles from source where no prebuilt binary fits.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# patches/ before npm ci: its postinstall applies them (patch-package).
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim AS runtime
ENV PROVISIO_DATA_DIR=/data PROVISIO_HEALTH_PORT=8090
WORKDIR /app
# The data volume's mount point, owned by the user the platform runs as.
RUN mkdir /data && chown node:node /data
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
CMD ["node", "dist/platform/main.js"]
