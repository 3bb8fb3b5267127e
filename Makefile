# The help desk's everyday commands. `make run` and `make test` are the two commands of the README.

GO ?= go

.PHONY: run test bench build vet fmt check

run:
	$(GO) run ./cmd/helpdesk serve

test:
	$(GO) test -race ./...

# Benchmarks print their figures next to a baseline measured in the same run. They load large
# data sets (1,000,000 tickets), so give them time.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./...

build:
	$(GO) build -o bin/helpdesk ./cmd/helpdesk

vet:
	$(GO) vet ./...

fmt:
	gofmt -l -w .

# What CI checks besides the tests.
check: vet
	@test -z "$$(gofmt -l .)" || { gofmt -l .; echo "gofmt would change the files above"; exit 1; }
