# mindalpha-pool — make demo · make test · make build · make install · make perf
PREFIX ?= /usr/local
SWIFT ?= swift
# Release builds (install, perf) drop Swift's dynamic exclusivity checks in every module, SwiftNIO's included,
# as SwiftNIO's own benchmarks do; debug builds and tests keep them.
RELEASE_FLAGS = -c release -Xswiftc -enforce-exclusivity=unchecked --scratch-path .build-release
RELEASE_BIN = .build-release/release/mindalpha-pool

.PHONY: all bootstrap build release demo test tsan asan fuzz install uninstall perf refload clean

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
	$(SWIFT) test --sanitize=thread --scratch-path .build-tsan --filter PoolTests

# The library, server and agent tests under AddressSanitizer (a separate build folder).
asan:
	@scripts/bootstrap.sh --tests
	LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan.supp:print_suppressions=0 $(SWIFT) test --sanitize=address --scratch-path .build-asan --filter 'PoolTests|MindAlphaServerTests|DiscoveryTests|MindAlphaWireTests|LoadTests|SchedulingTests|FuzzCorpusTests'

# libFuzzer over every decoder (scripts/fuzz.sh): FUZZ_RUNS runs or FUZZ_SECONDS each, failing on any crash.
fuzz:
	@scripts/bootstrap.sh --tests
	scripts/fuzz.sh

install: release
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(RELEASE_BIN) $(DESTDIR)$(PREFIX)/bin/mindalpha-pool
	@if [ -f man/mindalpha-pool.1 ]; then \
	  install -d $(DESTDIR)$(PREFIX)/share/man/man1 && \
	  install -m 644 man/mindalpha-pool.1 $(DESTDIR)$(PREFIX)/share/man/man1/; fi
	@if [ -d completions ]; then \
	  install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions \
	    $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d && \
	  install -m 644 completions/mindalpha-pool.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/mindalpha-pool && \
	  install -m 644 completions/_mindalpha-pool $(DESTDIR)$(PREFIX)/share/zsh/site-functions/ && \
	  install -m 644 completions/mindalpha-pool.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/; fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/mindalpha-pool $(DESTDIR)$(PREFIX)/share/man/man1/mindalpha-pool.1 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/mindalpha-pool \
	  $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_mindalpha-pool \
	  $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/mindalpha-pool.fish

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
