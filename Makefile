# berth's build, test and benchmark entry points. CI runs `make test`
# through .ci/run.
GO ?= go
BIN ?= bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: build demo test test-unit test-e2e lint bench fuzz clean

build:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/berth ./cmd/berth
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/whoami ./cmd/whoami

# A working demo on loopback: berth in front of two whoami backends.
demo:
	bash deploy/demo/run.sh

# Everything CI checks: static analysis, unit tests, end-to-end tests.
test: lint test-unit test-e2e

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

test-unit:
	$(GO) test -count=1 ./...

# End-to-end tests start the real berth binary against real backends on
# loopback; they live behind the e2e build tag so `go test ./...` stays fast.
test-e2e:
	$(GO) test -count=1 -tags e2e -timeout 15m ./test/...

bench:
	bash bench/run.sh

clean:
	rm -rf $(BIN)
