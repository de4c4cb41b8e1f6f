# SupportWhatsApp — the two set-up commands are `make run` and `make test`.
GO            ?= go
BIN           := bin/supportwhatsapp
VERSION       ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS       := -s -w -X github.com/supportwhatsapp/supportwhatsapp/internal/server.Version=$(VERSION)
STATICCHECK   := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: run build test test-go lint tidy clean

## run: build and serve on http://localhost:3000 (SQLite in ./data, seeded admin)
run: build
	./$(BIN) serve

## build: the binary at bin/supportwhatsapp
build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/supportwhatsapp

## test: every test (Go with -race on SQLite, plus PostgreSQL when TEST_DATABASE_URL is set) and the linters
test: lint test-go

test-go:
	$(GO) test -race -count=1 ./...

## lint: go vet and staticcheck
lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

tidy:
	$(GO) mod tidy

clean:
	rm -rf bin
