// Package infra holds the files that run OpenQQ Relay outside AWS — the
// docker-compose.yml for one VM, redis.conf, the systemd units and
// build-lambda.sh — and the tests that check them and the repository's
// Dockerfile offline: no Docker engine, no network.
package infra
