# The two commands of README.md: `make mount` and `make test`, both as root.
# `make install` (PREFIX, DESTDIR) and `make uninstall`: docs/service.md.
GO ?= go
MOUNTPOINT ?= /inetcr

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
UNITDIR ?= $(PREFIX)/lib/systemd/system
# Where install's generated files are made.
BUILD ?= build

# What install puts in place, and uninstall removes: nothing else.
INSTALLED = $(BINDIR)/inetcr $(MANDIR)/man8/inetcr.8 $(MANDIR)/man5/inetcr.5 \
	$(BASHCOMPDIR)/inetcr $(UNITDIR)/inetcr.service

.PHONY: build mount test bench dist install uninstall

build:
	$(GO) build -o inetcr ./cmd/inetcr

mount: build
	mkdir -p $(MOUNTPOINT)
	./inetcr mount $(MOUNTPOINT)

# The tests of docs/security.md's promises: `make test` runs them again on
# the exact reader, the backend --backend auto gives a user (the whole run
# mounts the stock engine).
TRUST_TESTS = TestOwnersAndModes|TestUserAccess|TestNoBorrowedPrivilege|TestRestoreBindNeedsCapability|TestDefenseInDepth|TestUserNamespaceLendsNothing|TestSetuidCloseLendsNothing|TestRawIPOptionsNeedCapability|TestExecClosingImageDoesNotHang|TestCongestionJudgedAsCaller|TestRootlessContainer|TestUnlistedSocketsStayPrivate|TestUnheld

test:
	./scripts/deps.sh
	gofmt -l . | (! grep .)
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...
	INETCR_TEST_BACKEND=exact $(GO) test -race -count=1 -timeout 30m -run '$(TRUST_TESTS)' ./integration/

bench:
	./scripts/deps.sh
	$(GO) test -run '^$$' -bench . -benchtime 3x ./netlinkio/...

# The binary (with its VCS revision, for inetcr version), its man pages and
# bash completion made by the binary itself, and the unit for BINDIR.
dist:
	mkdir -p $(BUILD)
	$(GO) build -buildvcs=auto -o $(BUILD)/inetcr ./cmd/inetcr
	$(BUILD)/inetcr man 8 > $(BUILD)/inetcr.8
	$(BUILD)/inetcr man 5 > $(BUILD)/inetcr.5
	$(BUILD)/inetcr completion bash > $(BUILD)/inetcr.bash
	sed 's|@BINDIR@|$(BINDIR)|g' dist/inetcr.service.in > $(BUILD)/inetcr.service

install: dist
	install -D -m 0755 $(BUILD)/inetcr $(DESTDIR)$(BINDIR)/inetcr
	install -D -m 0644 $(BUILD)/inetcr.8 $(DESTDIR)$(MANDIR)/man8/inetcr.8
	install -D -m 0644 $(BUILD)/inetcr.5 $(DESTDIR)$(MANDIR)/man5/inetcr.5
	install -D -m 0644 $(BUILD)/inetcr.bash $(DESTDIR)$(BASHCOMPDIR)/inetcr
	install -D -m 0644 $(BUILD)/inetcr.service $(DESTDIR)$(UNITDIR)/inetcr.service

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
