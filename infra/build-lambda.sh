#!/usr/bin/env bash
# Builds the relay's AWS Lambda package: a zip with one executable,
# "bootstrap" — the openqq binary for the provided.al2023 runtime, which runs
# `openqq relay` because AWS_LAMBDA_RUNTIME_API is set there.
#
#   infra/build-lambda.sh dist/openqq-relay-arm64.zip
#   GOARCH=amd64 infra/build-lambda.sh /tmp/relay-amd64.zip   # x86_64 functions, local tests
#
# The zip is reproducible (same sources, same bytes), so terraform's
# source_code_hash changes only when the code does. Needs bash and go; uses
# zip(1) when it is installed and a few lines of Go when it is not.
set -euo pipefail

if [ "$#" -ne 1 ]; then
  echo "usage: $0 OUTPUT.zip" >&2
  exit 2
fi
out=$1
case "$out" in
  *.zip) ;;
  *) echo "build-lambda: the output must end in .zip: $out" >&2; exit 2 ;;
esac
arch=${GOARCH:-arm64}
case "$arch" in
  arm64 | amd64) ;;
  *) echo "build-lambda: GOARCH must be arm64 or amd64 (Lambda's architectures), not $arch" >&2; exit 2 ;;
esac

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$(dirname "$out")"
out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# No VCS stamp: the binary depends on the sources only.
(cd "$repo" && GOOS=linux GOARCH="$arch" CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
  go build -tags lambda.norpc -trimpath -ldflags='-s -w' -o "$work/bootstrap" ./cmd/openqq)
chmod 0755 "$work/bootstrap"
# A fixed time stamp (zip's epoch) keeps the archive byte-identical.
TZ=UTC touch -t 198001010000 "$work/bootstrap"
rm -f "$out"

if command -v zip >/dev/null 2>&1; then
  (cd "$work" && TZ=UTC zip -q -X -9 "$out" bootstrap)
else
  cat >"$work/zip.go" <<'GO'
// Writes a zip with one executable entry, for machines without zip(1).
package main

import (
	"archive/zip"
	"log"
	"os"
	"time"
)

func main() {
	out, name := os.Args[1], os.Args[2]
	data, err := os.ReadFile(name)
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.Create(out)
	if err != nil {
		log.Fatal(err)
	}
	zw := zip.NewWriter(f)
	h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err == nil {
		_, err = w.Write(data)
	}
	if err == nil {
		err = zw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		log.Fatal(err)
	}
}
GO
  # The helper runs here, so it is built for this machine, not for Lambda.
  (cd "$work" && GOOS= GOARCH= CGO_ENABLED=0 GOFLAGS=-buildvcs=false go run zip.go "$out" bootstrap)
fi
echo "$out"
