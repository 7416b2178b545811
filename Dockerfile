# The service's image: built with the Swift toolchain, run on a slim Ubuntu whose
# librdkafka (2.3) is new enough for current brokers (Debian bookworm's 2.0.2 is not;
# see docs/development.md, "What setup does"). Used by docker-compose.yml.

FROM swift:6.1-noble AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends librdkafka-dev pkg-config libssl-dev libsasl2-dev zlib1g-dev \
        libjemalloc-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The manifest first: the package resolution stays cached while only sources change.
COPY Package.swift ./
RUN swift package resolve
COPY Sources Sources
COPY Tests Tests
RUN swift build -c release --product notification-service --static-swift-stdlib \
    && cp "$(swift build -c release --show-bin-path)/notification-service" /notification-service

FROM ubuntu:24.04
# librdkafka and jemalloc (the service's allocator) at run time, CA certificates for TLS
# to providers, the tz database for users' time zones.
RUN apt-get update \
    && apt-get install -y --no-install-recommends librdkafka1 libjemalloc2 ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home notification
COPY --from=build /notification-service /usr/local/bin/notification-service
COPY migrations /usr/local/share/notification-service/migrations
ENV NOTIFICATION_MIGRATIONS_DIR=/usr/local/share/notification-service/migrations
# Health, metrics and the /v1 API (HTTP_HOST=0.0.0.0 to reach it from outside).
EXPOSE 8080
USER notification
ENTRYPOINT ["notification-service"]
CMD ["serve"]
