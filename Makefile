# The two commands of README.md: `make mount` and `make test`, both as root.
GO ?= go
MOUNTPOINT ?= /inetcr

.PHONY: build mount test bench

build:
	$(GO) build -o inetcr ./cmd/inetcr

mount: build
	mkdir -p $(MOUNTPOINT)
	./inetcr mount $(MOUNTPOINT)

test:
	./scripts/deps.sh
	gofmt -l . | (! grep .)
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...

bench:
	./scripts/deps.sh
	$(GO) test -run '^$$' -bench . -benchtime 3x ./netlinkio/...
