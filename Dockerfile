# The operator's and the connector's images, from one multi-stage build:
#   docker build --target operator -t ghcr.io/infrahq/infra-operator:dev .
#   docker build --target connector -t ghcr.io/infrahq/infra-connector:dev .
# (make docker-build does both). Node's version is the one package.json pins.
# BUILD_IMAGE (needs node and npm) and RUNTIME_IMAGE (needs node) default to the public
# Node images; hosts with no image registry pass local ones (hack/local-images.sh).
ARG NODE_VERSION=24.21.0
ARG BUILD_IMAGE=node:${NODE_VERSION}-alpine
ARG RUNTIME_IMAGE=node:${NODE_VERSION}-alpine

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY hack/build.ts hack/
COPY api api
COPY lib lib
COPY operator operator
COPY connector connector
COPY cli cli
RUN npm run build

# Only what runs: each program is one bundle with its dependencies inside (hack/build.ts),
# so no node_modules; owned by root and read-only to the non-root user they run as.
# package.json gives the programs their version.
FROM ${RUNTIME_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/dist dist
USER 65532:65532

FROM runtime AS operator
EXPOSE 8443 9443 8080
ENTRYPOINT ["node", "dist/operator/main.js"]

FROM runtime AS connector
EXPOSE 8443 8080
ENTRYPOINT ["node", "--liftoff-only", "dist/connector/main.js"]
