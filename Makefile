# mindalpha-pool — make demo · make test · make build · make install · make man · make perf
PREFIX ?= /usr/local
SWIFT ?= swift
# Release builds (install, perf) drop Swift's dynamic exclusivity checks in every module, SwiftNIO's included,
# as SwiftNIO's own benchmarks do; debug builds and tests keep them.
RELEASE_FLAGS = -c release -Xswiftc -enforce-exclusivity=unchecked --scratch-path .build-release
RELEASE_BIN = .build-release/release/mindalpha-pool

.PHONY: all bootstrap build release demo test tsan asan fuzz install uninstall man perf refload clean

all: build

bootstrap:
	@scripts/bootstrap.sh

build: bootstrap
	$(SWIFT) build

release: bootstrap
	$(SWIFT) build $(RELEASE_FLAGS)

# Consul, three weighted instances, discover, schedule and a 5-second bench, in one process (release build).
demo: release
	$(RELEASE_BIN) demo

test:
	@scripts/bootstrap.sh --tests
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# The pool's tests under ThreadSanitizer (a separate build folder: every module is rebuilt instrumented).
tsan:
	@scripts/bootstrap.sh --tests
	$(SWIFT) test --sanitize=thread --scratch-path .build-tsan --filter 'PoolTests|MindAlphaServerTests'

# The library, server and agent tests under AddressSanitizer (a separate build folder).
asan:
	@scripts/bootstrap.sh --tests
	LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan.supp:print_suppressions=0 $(SWIFT) test --sanitize=address --scratch-path .build-asan --filter 'PoolTests|MindAlphaServerTests|DiscoveryTests|MindAlphaWireTests|LoadTests|SchedulingTests|FuzzCorpusTests'

# libFuzzer over every decoder (scripts/fuzz.sh): FUZZ_RUNS runs or FUZZ_SECONDS each, failing on any crash.
fuzz:
	@scripts/bootstrap.sh --tests
	scripts/fuzz.sh

# Installs the binary (BIN, the release build unless given), the man page and the completions under
# $(DESTDIR)$(PREFIX), where man, bash-completion, zsh and fish look.
BIN ?= $(RELEASE_BIN)
MANDIR = $(DESTDIR)$(PREFIX)/share/man/man1
BASHDIR = $(DESTDIR)$(PREFIX)/share/bash-completion/completions
ZSHDIR = $(DESTDIR)$(PREFIX)/share/zsh/site-functions
FISHDIR = $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
install: $(if $(filter $(RELEASE_BIN),$(BIN)),release)
	install -d $(DESTDIR)$(PREFIX)/bin $(MANDIR) $(BASHDIR) $(ZSHDIR) $(FISHDIR)
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/mindalpha-pool
	install -m 644 man/mindalpha-pool.1 $(MANDIR)/mindalpha-pool.1
	install -m 644 completions/mindalpha-pool.bash $(BASHDIR)/mindalpha-pool
	install -m 644 completions/_mindalpha-pool $(ZSHDIR)/_mindalpha-pool
	install -m 644 completions/mindalpha-pool.fish $(FISHDIR)/mindalpha-pool.fish

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/mindalpha-pool $(MANDIR)/mindalpha-pool.1 $(BASHDIR)/mindalpha-pool \
	  $(ZSHDIR)/_mindalpha-pool $(FISHDIR)/mindalpha-pool.fish

# Regenerates man/ and completions/ from the argument specs (a test fails when they differ from what is checked in).
man: build
	.build/debug/mindalpha-pool help --man > man/mindalpha-pool.1
	.build/debug/mindalpha-pool completions bash > completions/mindalpha-pool.bash
	.build/debug/mindalpha-pool completions zsh > completions/_mindalpha-pool
	.build/debug/mindalpha-pool completions fish > completions/mindalpha-pool.fish

# Speed, as ratios to the project's own C reference (scripts/refload) measured in the same run (needs 2 cores).
perf: release refload
	scripts/perf.sh $(RELEASE_BIN)

# The C reference server and load client (plain cc, no dependencies).
REFLOAD = .build-refload
refload: $(REFLOAD)/refserver $(REFLOAD)/refclient

$(REFLOAD)/%: scripts/refload/%.c
	@mkdir -p $(REFLOAD)
	cc -O2 -Wall -o $@ $<

clean:
	rm -rf .build .build-release .build-tsan .build-asan .build-fuzz .build-refload
