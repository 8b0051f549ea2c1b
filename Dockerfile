# One image for every service of docker-compose.yml; the command picks the role:
#   node --import tsx platform/broker-main.ts | provisioner-main.ts | api-main.ts | main.ts (all-in-one)
FROM node:20-bookworm-slim
# better-sqlite3 compiles from source where no prebuilt binary fits.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# patches/ before npm ci: its postinstall applies them (patch-package).
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
ENV PROVISIO_DATA_DIR=/data PROVISIO_HEALTH_PORT=8090
USER node
CMD ["node", "--import", "tsx", "platform/main.ts"]
