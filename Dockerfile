# The ActorMonitor node image (docker-compose.yml builds it for every node).
# Configuration is by environment variables only: every `actormonitor run` flag has one
# (ACTORMONITOR_BROKER, ACTORMONITOR_JOURNAL, ..., ACTORMONITOR_CONFIG), see `actormonitor run --help`.

# The dashboard's charting library, from the npm registry (the SDK image has no npm).
FROM node:20-bookworm-slim AS dashboard
WORKDIR /vendor
COPY src/ActorMonitor.Host/Http/DashboardVendor/package.json src/ActorMonitor.Host/Http/DashboardVendor/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# What src/ActorMonitor.Host needs: the central build and package settings, the projects, and the
# default HOCON that ActorMonitor.Cluster embeds.
COPY Directory.Build.props Directory.Packages.props ./
COPY hocon/ hocon/
COPY src/ src/
COPY --from=dashboard /vendor/node_modules src/ActorMonitor.Host/Http/DashboardVendor/node_modules
RUN dotnet publish src/ActorMonitor.Host -c Release -o /app -p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
# The image's non-root user (APP_UID); the node keeps no file here when its journal is PostgreSQL.
USER $APP_UID
# HTTP endpoint (ACTORMONITOR_HTTP must bind 0.0.0.0:5555 to be reachable) and the cluster port
# (ACTORMONITOR_AKKA_PORT).
EXPOSE 5555 4053
# Exec form: dotnet is PID 1 and receives SIGTERM itself (final checkpoint, graceful cluster leave).
ENTRYPOINT ["dotnet", "actormonitor.dll"]
CMD ["run"]
