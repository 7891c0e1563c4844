# syntax=docker/dockerfile:1
# check=error=true;experimental=all

# One image for every openqq subcommand: "up" by default, or "connector",
# "relay", "dispatch", "sandbox" as the container command.
#
#   docker build -t openqq .
#   docker run --rm -p 127.0.0.1:5000:5000 -e OPENQQ_API_TOKENS=change-me openqq

# build compiles a static binary for the target platform on the build platform.
FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
ARG TARGETOS
ARG TARGETARCH
ENV CGO_ENABLED=0
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -ldflags='-s -w' -o bin/openqq ./cmd/openqq

# The runtime image: CA certificates, tzdata and a nonroot user (65532), no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/bin/openqq /openqq
USER nonroot:nonroot
# Inside a container the listeners must leave loopback to be published; the
# relay still refuses to serve them without OPENQQ_API_TOKENS.
ENV OPENQQ_LISTEN=0.0.0.0:5000 \
    OPENQQ_ADMIN_LISTEN=0.0.0.0:9090
EXPOSE 5000 9090
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/openqq", "healthcheck"]
ENTRYPOINT ["/openqq"]
CMD ["up"]
