#!/bin/sh
# The one build command: the Dockerfile runs it, and so does .ci/run outside
# Docker, so a broken build step fails CI even where no Docker engine runs.
set -eu
VERSION="${VERSION:-dev}"
OUT="${OUT:-bin/pcautoscaler}"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o "${OUT}" ./cmd/pcautoscaler
