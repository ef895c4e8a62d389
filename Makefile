# berth's build, test and benchmark entry points. CI runs `make test`
# through .ci/run.
GO ?= go
BIN ?= bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
# Build tags of the end-to-end suites, so lint checks their code too.
TEST_TAGS := e2e docker acme obs

.PHONY: build demo demo-local image test test-unit test-e2e test-docker test-acme lint bench bench-docker fuzz clean

build:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/berth ./cmd/berth
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/whoami ./cmd/whoami

# The Docker demo: berth as a sidecar in front of labelled containers
# (docker-compose.yml); starts a Docker engine first if none answers.
demo:
	bash deploy/demo-docker.sh

# A working demo on loopback without Docker: berth in front of two whoami
# backends, configured by a file.
demo-local:
	bash deploy/demo/run.sh

# berth's image: the static binary FROM scratch (see Dockerfile).
image: build
	docker build -t berth:latest -t berth:$(VERSION) .

# Everything CI checks: static analysis, unit tests, end-to-end tests.
test: lint test-unit test-e2e test-docker test-acme test-obs

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags "$(TEST_TAGS)" ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 -tags "$(TEST_TAGS)" ./...

test-unit:
	$(GO) test -count=1 ./...

# End-to-end tests start the real berth binary against real backends on
# loopback; they live behind the e2e build tag so `go test ./...` stays fast.
test-e2e:
	$(GO) test -count=1 -tags e2e -timeout 15m ./test/e2e/...

# End-to-end tests against the local Docker engine (deploy/ensure-docker.sh
# starts one); they build their images FROM scratch and remove everything
# they labelled berth.test=1.
test-docker:
	$(GO) test -tags docker -count=1 -timeout 15m ./test/docker/...

# ACME tests run berth against Pebble, Let's Encrypt's test CA, on
# loopback; .ci/run installs pebble and pebble-challtestsrv (without them
# the tests are skipped with a message).
test-acme:
	$(GO) test -count=1 -tags acme -timeout 5m ./test/acme/

# Observability tests: /metrics through promtool and a real Prometheus, the
# access log, the API, and the dashboard in a real headless Chromium (Debian
# packages prometheus and chromium; .ci/run installs them).
test-obs:
	$(GO) test -count=1 -tags obs -timeout 5m ./test/observability/

bench:
	bash bench/run.sh

# How fast labelled containers are routed: start → first 200, and 500
# containers at once (needs a Docker engine).
bench-docker:
	$(GO) run ./bench/dockerconv

clean:
	rm -rf $(BIN)
