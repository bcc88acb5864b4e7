#!/bin/sh
# The one build command: the Dockerfile runs it, and so does .ci/run outside
# Docker, so a broken build step fails CI even where no Docker engine runs.
#
# The revision is stamped explicitly (main.revision) from REVISION, else from
# git when this is a checkout: Go's own VCS stamp is missing with
# GOFLAGS=-buildvcs=false, outside a checkout, or without git, and then
# `pcautoscaler version` would say "revision unknown".
set -eu
VERSION="${VERSION:-dev}"
OUT="${OUT:-bin/pcautoscaler}"
REVISION="${REVISION:-}"
if [ -z "${REVISION}" ] && command -v git >/dev/null 2>&1; then
  REVISION="$(git rev-parse --short HEAD 2>/dev/null || true)"
fi
LDFLAGS="-s -w -X main.version=${VERSION}"
if [ -n "${REVISION}" ]; then
  LDFLAGS="${LDFLAGS} -X main.revision=${REVISION}"
fi
CGO_ENABLED=0 go build -trimpath -ldflags "${LDFLAGS}" -o "${OUT}" ./cmd/pcautoscaler
