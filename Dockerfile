# syntax=docker/dockerfile:1
# Build on the builder's platform and cross-compile: no emulation needed for arm64.
FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=dev
# The VCS revision to stamp: .git is not in the build context (.dockerignore),
# so build.sh cannot ask git here. docker build --build-arg REVISION=$(git rev-parse --short HEAD)
ARG REVISION=
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH VERSION=$VERSION REVISION=$REVISION OUT=/out/pcautoscaler ./scripts/build.sh

# distroless static: no shell, no package manager; uid 65532 (nonroot).
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG REVISION=
LABEL org.opencontainers.image.title="pcautoscaler" \
      org.opencontainers.image.description="Right-sizes AWS Lambda provisioned concurrency" \
      org.opencontainers.image.version="$VERSION" \
      org.opencontainers.image.revision="$REVISION" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/pcautoscaler /usr/local/bin/pcautoscaler
USER 65532:65532
EXPOSE 9102
ENTRYPOINT ["/usr/local/bin/pcautoscaler", "run"]
CMD ["--config", "/etc/pcautoscaler/config.yaml"]
