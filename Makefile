# One command runs every test: make test
# It installs what the tests need first: Go modules, the npm dev packages
# (TypeScript, publint, arethetypeswrong), Debian's chromium for the browser
# tests, and Debian's redis-server, postgresql and haproxy for the example's
# fleet test.

FUZZTIME ?= 20s
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: test deps chromium services vet staticcheck gotest fuzz jstest bench generate run

test: deps vet staticcheck gotest fuzz jstest

deps: chromium services
	go mod download
	npm ci --ignore-scripts --no-audit --no-fund

# Browser tests drive Debian's chromium; install it when it is missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The example's fleet test (example/fleet_test.go) runs two instances on
# Redis and PostgreSQL behind haproxy; install Debian's servers when they are
# missing. The test starts its own servers in temporary folders, so nothing
# is enabled.
services:
	@{ command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ]; } && \
	{ command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ]; } && \
	ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq redis-server postgresql haproxy >/dev/null; }

vet:
	go vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

# staticcheck, pinned: its findings fail the build.
staticcheck:
	go run $(STATICCHECK) ./...

gotest:
	go test -race -count=1 ./...

fuzz:
	go test -run '^$$' -fuzz FuzzRequest -fuzztime $(FUZZTIME) ./echorpc
	go test -run '^$$' -fuzz FuzzClientReply -fuzztime $(FUZZTIME) ./echorpc
	go test -run '^$$' -fuzz FuzzChannelFrame -fuzztime $(FUZZTIME) ./echorpc

jstest:
	npm run typecheck
	npm test

# The in-process benchmarks (ratios: compare ns/op and allocs/op within one
# run), the same ratios by medians of timed calls taking turns (bench/ratio,
# steadier on a busy machine), then the load benchmark over loopback
# sockets: a typed echorpc function against a plain Echo handler doing the
# same work, 3 rounds of 5 s each, alternated, from a separate
# load-generator process.
LOADFLAGS ?= -conns 32 -rounds 3 -duration 5s

bench:
	go test -run '^$$' -bench . -benchmem ./echorpc ./echorpc/echorpcotel ./echorpc/echorpcprom
	go test -run '^$$' -bench . -count 3 ./bench/ratio
	go run ./bench/load $(LOADFLAGS)

# Rebuild the embedded browser client and its type declarations after
# changing jsclient/, and the example's TypeScript after changing its handlers.
generate:
	go generate ./...
	npx tsc -p tsconfig.json

run:
	go run ./example
