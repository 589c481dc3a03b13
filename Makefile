# vessel — see README.md. Targets: all (default), test, unit, integration,
# cross-test, bench, run, asan, install, uninstall, clean, format, format-check, cli-docs.
# Variables: V=1 prints full commands; CROSS=aarch64-linux-gnu- builds for
# that target (into build/aarch64-linux-gnu/); PREFIX (/usr/local) and
# DESTDIR for install; VESSEL_CROSS=0 leaves the cross unit tests out of
# `make test`; WERROR=1 (which `make test` sets) makes warnings errors.

CROSS   ?=
ifeq ($(CROSS),)
BUILD      := build
PKG_CONFIG ?= pkg-config
else
# aarch64-linux-gnu- -> aarch64-linux-gnu: Debian's cross gcc, and the
# target's .pc files from its multiarch -dev packages (libjson-c-dev:arm64...).
TRIPLET    := $(CROSS:%-=%)
BUILD      := build/$(TRIPLET)
PKG_CONFIG ?= PKG_CONFIG_LIBDIR=/usr/lib/$(TRIPLET)/pkgconfig:/usr/share/pkgconfig pkg-config
ifeq ($(origin CC),default)
CC         := $(CROSS)gcc
endif
endif

# Linked: what every command needs (libmd: sha256 of small buffers, see
# src/image/ref.c), and libarchive when STATIC_LIBS=1 (below). libcrypto
# (image code), libcurl (registry code) and, when STATIC_LIBS=0, libarchive
# are loaded with dlopen() on first use (src/image/libs.h,
# src/registry/curl.h) so that starting a container never maps them: only
# their headers are needed here.
PKGS     := json-c libseccomp libcap libmd
# Networks (src/net/): rtnetlink messages.
PKGS     += libmnl
IMG_PKGS := libarchive libcrypto libcurl
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu17 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
           -D_GNU_SOURCE -Isrc $(shell $(PKG_CONFIG) --cflags $(PKGS) $(IMG_PKGS) 2>/dev/null)
ifeq ($(WERROR),1)
CFLAGS  += -Werror
endif
# STATIC_LIBS=1 (the default) links json-c, libseccomp, libcap, libmd and
# libarchive (tar and its decompression filters: zstd, lz4, xz, bzip2, zlib)
# from Debian's static archives, keeping only the sections vessel calls
# (--gc-sections: libarchive's other formats, and the libxml2, ICU and
# nettle behind them, are left out); libmnl (no static archive in Debian)
# and libc stay shared. Every process then skips ~0.3 ms of dynamic
# loading, and image commands ~1 ms of dlopen() of libarchive. The price:
# a Debian security update of one of these libraries reaches vessel when
# it is rebuilt (docs/design.md). STATIC_LIBS=0 links them shared and
# loads libarchive with dlopen() on first use.
# The unit tests and fuzz targets (sanitizer builds) link everything shared
# (SHARED_LDLIBS), libarchive included: they call it directly either way.
SHARED_LDLIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
STATIC_LIBS ?= 1
ifeq ($(STATIC_LIBS),1)
ARCHIVE_LIBS := -larchive -lzstd -llz4 -llzma -lbz2 -lz
CFLAGS  += -DVESSEL_STATIC_LIBARCHIVE
# libmnl: Debian ships no static archive of it.
LDLIBS  += -Wl,--gc-sections -Wl,-Bstatic $(shell $(PKG_CONFIG) --libs $(filter-out libmnl,$(PKGS)) \
           2>/dev/null) $(ARCHIVE_LIBS) -Wl,-Bdynamic $(shell $(PKG_CONFIG) --libs libmnl 2>/dev/null)
else
LDLIBS  += $(SHARED_LDLIBS)
endif
LDFLAGS += -Wl,--as-needed
# src/net/nft.c loads libnftables with dlopen() on first use: its header only.
CFLAGS  += $(shell $(PKG_CONFIG) --cflags libnftables 2>/dev/null)
# The unit tests also call libarchive and libcrypto themselves.
UNIT_LDLIBS := $(SHARED_LDLIBS) $(shell $(PKG_CONFIG) --libs $(IMG_PKGS) 2>/dev/null) -lcmocka

# Short lines (`CC build/src/x.o`) unless V=1.
ifeq ($(V),1)
Q   :=
say  = @:
else
Q   := @
say  = @printf '  %-7s %s\n' '$(1)' '$(2)'
endif

SRCS    := $(sort $(wildcard src/*/*.c))
LIBOBJS := $(SRCS:%.c=$(BUILD)/%.o)
MAINOBJ := $(BUILD)/src/main.o
BIN     := $(BUILD)/vessel

# Unit tests: natively under ASan/UBSan (build/asan/); a cross build runs
# them under qemu-user, without sanitizers (their shadow memory does not fit
# qemu-user's address space), from $(BUILD)/unit/.
ifeq ($(CROSS),)
ASAN_DIR   := $(BUILD)/asan
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -O1
else
ASAN_DIR   := $(BUILD)/unit
ASAN_FLAGS := -O1
endif
ASAN_OBJS   := $(SRCS:%.c=$(ASAN_DIR)/%.o)
UNIT_SRCS   := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS   := $(UNIT_SRCS:tests/unit/%.c=$(ASAN_DIR)/tests/%)

BENCH_BINS  := $(BUILD)/bench/floor $(BUILD)/bench/start-latency $(BUILD)/bench/seccomp-compile \
               $(BUILD)/bench/net-attach $(BUILD)/bench/shift-copy $(BUILD)/bench/timeit

# The exec stub: a freestanding static program embedded into vessel (see
# src/runtime/stub/execstub.c and src/runtime/execstub.c).
EXECSTUB    := $(BUILD)/execstub
STUB_FLAGS  := -O2 -static -nostdlib -nostartfiles -ffreestanding -fno-builtin \
               -fno-stack-protector -fno-pie -no-pie -fno-asynchronous-unwind-tables \
               -Wl,--build-id=none -s

# `make test` also cross-builds the unit tests for this target and runs them
# under qemu-user (VESSEL_CROSS=0: not).
CROSS_TEST   ?= aarch64-linux-gnu-
CROSS_ARCH   := $(firstword $(subst -, ,$(CROSS_TEST)))
CROSS_BUILD  := build/$(CROSS_TEST:%-=%)
CROSS_UNITS  := $(UNIT_SRCS:tests/unit/%.c=$(CROSS_BUILD)/unit/tests/%)
VESSEL_CROSS ?= 1

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin

.PHONY: all deps test unit integration cross-test bench run asan install uninstall clean format \
	format-check cli-docs

all: $(BIN)

deps:
	@VESSEL_CROSS=$(VESSEL_CROSS) sh scripts/deps.sh

# The objects are compiled for one STATIC_LIBS (image code calls libarchive
# directly or through its dlopen() table): the file holds the value they
# were built with and is rewritten only when it changes, which rebuilds
# them (git's GIT-CFLAGS).
STATIC_STAMP := $(BUILD)/STATIC_LIBS
$(STATIC_STAMP): FORCE
	@mkdir -p $(dir $@)
	@echo '$(STATIC_LIBS)' | cmp -s - $@ || echo '$(STATIC_LIBS)' >$@
$(LIBOBJS) $(MAINOBJ): $(STATIC_STAMP)
.PHONY: FORCE

$(BIN): $(LIBOBJS) $(MAINOBJ)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(EXECSTUB): src/runtime/stub/execstub.c src/runtime/stub/protocol.h
	@mkdir -p $(dir $@)
	$(call say,STUB,$@)
	$(Q)$(CC) $(STUB_FLAGS) -Isrc -o $@ $<

$(BUILD)/src/runtime/execstub.o $(ASAN_DIR)/src/runtime/execstub.o: $(EXECSTUB)
$(BUILD)/src/runtime/execstub.o $(ASAN_DIR)/src/runtime/execstub.o: \
	CFLAGS += -DVESSEL_EXECSTUB='"$(EXECSTUB)"'

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(ASAN_DIR)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(ASAN_FLAGS) -MMD -MP -c -o $@ $<

$(ASAN_DIR)/tests/%: tests/unit/%.c $(ASAN_OBJS)
	@mkdir -p $(dir $@)
	$(call say,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) $(ASAN_FLAGS) -Itests/unit -o $@ $^ $(UNIT_LDLIBS)

# Sanitizer build of the unit tests (and of the library they link).
asan: $(UNIT_BINS)

# Kept between builds (only pattern rules name them).
.SECONDARY: $(ASAN_OBJS)

unit: asan
	@sh tests/run-unit.sh $(UNIT_BINS)

integration: $(BIN)
	@sh tests/run-integration.sh

# vessel and the unit tests built for CROSS_TEST, the tests run under
# qemu-$(CROSS_ARCH) (qemu-user; the target's libraries come from multiarch).
cross-test:
	@$(MAKE) --no-print-directory CROSS=$(CROSS_TEST) all asan
	@UNIT_RUNNER=qemu-$(CROSS_ARCH) sh tests/run-unit.sh $(CROSS_UNITS)

# The README's test command: dependencies, build, unit tests (native and,
# unless VESSEL_CROSS=0, cross-built under qemu-user), integration tests,
# one closing line "N passed, M failed".
test: deps format-check
	@$(MAKE) --no-print-directory WERROR=1 all asan $(BENCH_BINS) $(FUZZ_BINS)
ifneq ($(VESSEL_CROSS),0)
	@$(MAKE) --no-print-directory WERROR=1 CROSS=$(CROSS_TEST) all asan
	@CROSS_UNITS="$(CROSS_UNITS)" CROSS_RUNNER=qemu-$(CROSS_ARCH) \
		sh tests/run-all.sh $(UNIT_BINS)
else
	@sh tests/run-all.sh $(UNIT_BINS)
endif

$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(call say,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)

# Measures vessel's own seccomp compiler: linked against the library.
$(BUILD)/bench/seccomp-compile: bench/seccomp-compile.c $(LIBOBJS)
	@mkdir -p $(dir $@)
	$(call say,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBOBJS) $(LDLIBS)

# The network layer's share of a bridged start (bench/net.sh runs it).
$(BUILD)/bench/net-attach: bench/net-attach.c $(LIBOBJS)
	@mkdir -p $(dir $@)
	$(call say,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBOBJS) $(LDLIBS)

# The rootless engine's shifted layer copies (bench/rootless.sh runs it).
$(BUILD)/bench/shift-copy: bench/shift-copy.c $(LIBOBJS)
	@mkdir -p $(dir $@)
	$(call say,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBOBJS) $(LDLIBS)

# Start latency (runtime), engine run and per-container memory, image load,
# registry pull,
# seccomp compile time of 20,000-rule profiles.
bench: deps all $(BENCH_BINS)
	@sh bench/run.sh
	@sh bench/engine-run.sh
	@sh bench/image-load.sh
	@sh bench/registry-pull.sh
	@$(BUILD)/bench/seccomp-compile
	@sh bench/fork-bomb.sh

# The main job: build, prepare a busybox bundle, run a container from it.
run: deps all
	@sh scripts/run-demo.sh

# vessel, and vessel-runtime (the name orchestrators are given: runc's
# command set) and vessel-vm (the same, every bundle in a VM: docs/vm.md)
# as symlinks to it.
install: $(BIN)
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/vessel
	ln -sf vessel $(DESTDIR)$(BINDIR)/vessel-runtime
	ln -sf vessel $(DESTDIR)$(BINDIR)/vessel-vm

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/vessel $(DESTDIR)$(BINDIR)/vessel-runtime \
		$(DESTDIR)$(BINDIR)/vessel-vm

# Debian's clang-format-14 and the repo's .clang-format over the C sources
# (src/, the stubs, guest/, tests/, bench/): `format` rewrites them,
# `format-check` (part of `make test`) lists those that differ and fails.
CLANG_FORMAT ?= clang-format-14
FORMAT_SRCS   = $(sort $(wildcard src/*.c src/*.h src/*/*.c src/*/*.h src/*/*/*.c src/*/*/*.h \
                guest/*.c guest/*.h tests/unit/*.c tests/unit/*.h tests/fuzz/*.c tests/fuzz/*.h \
                bench/*.c))

format:
	$(CLANG_FORMAT) -i $(FORMAT_SRCS)

format-check:
	@bad=$$(for f in $(FORMAT_SRCS); do \
		$(CLANG_FORMAT) $$f | cmp -s - $$f || echo $$f; done); \
	if [ -n "$$bad" ]; then \
		echo "format-check: these files differ from $(CLANG_FORMAT)'s output (make format):"; \
		echo "$$bad" | sed 's/^/  /'; exit 1; \
	fi

clean:
	rm -rf build

-include $(LIBOBJS:.o=.d) $(MAINOBJ:.o=.d) $(ASAN_OBJS:.o=.d)

# --- microVM backend (src/vm, guest/; docs/vm.md) ---------------------------
# The guest agent: a static program embedded into vessel, which writes it
# into the guest's initramfs. The kernel's config fragment and build script
# are embedded too (src/vm/kernel.c), so editing them changes the kernel key.
AGENT := $(BUILD)/guest/agent
$(AGENT): guest/agent.c guest/proto.h
	@mkdir -p $(dir $@)
	$(CC) -O2 -static -std=gnu17 -Wall -Wextra -D_GNU_SOURCE -s -o $@ $<
# Its digest names the initramfs (computed here, not at every VM start).
AGENT_DIGEST := $(AGENT).digest.h
$(AGENT_DIGEST): $(AGENT)
	d=$$(sha256sum $<) && printf '#define VESSEL_AGENT_DIGEST "%s"\n' "$${d%% *}" >$@.tmp
	mv $@.tmp $@
INITRAMFS_FLAGS := -DVESSEL_AGENT='"$(AGENT)"' -DVESSEL_AGENT_DIGEST_H='"$(abspath $(AGENT_DIGEST))"'
$(BUILD)/src/vm/initramfs.o $(ASAN_DIR)/src/vm/initramfs.o: $(AGENT) $(AGENT_DIGEST)
$(BUILD)/src/vm/initramfs.o $(ASAN_DIR)/src/vm/initramfs.o: CFLAGS += $(INITRAMFS_FLAGS)
$(BUILD)/src/vm/kernel.o $(ASAN_DIR)/src/vm/kernel.o: guest/kernel.config guest/build-kernel.sh

# `run --init`'s init (src/engine/init/vessel-init.c): static, embedded into
# vessel (src/engine/init.c), bind-mounted into the container.
INIT := $(BUILD)/init/vessel-init
$(INIT): src/engine/init/vessel-init.c
	@mkdir -p $(dir $@)
	$(call say,STATIC,$@)
	$(Q)$(CC) -O2 -static -std=gnu17 -Wall -Wextra -D_GNU_SOURCE -s -o $@ $<
$(BUILD)/src/engine/init.o $(ASAN_DIR)/src/engine/init.o: $(INIT)
$(BUILD)/src/engine/init.o $(ASAN_DIR)/src/engine/init.o: CFLAGS += -DVESSEL_INIT='"$(INIT)"'

# Boot-to-exit and idle host memory of a VM container against bare-QEMU floors (builds the guest
# kernel first if it is not cached).
.PHONY: bench-vm
bench-vm: deps all
	@sh bench/vm-boot.sh
	@sh bench/vm-mem.sh
# Restore of a VM checkpoint against a cold boot to the same point.
.PHONY: bench-vm-restore
bench-vm-restore: deps all
	@sh bench/vm-restore.sh
# The VM's root over virtio-9p against virtio-blk (boot, many small files, dd).
.PHONY: bench-vm-rootfs
bench-vm-rootfs: deps all
	@sh bench/vm-rootfs.sh
# vessel against a private dockerd (docs/benchmarks.md, "Docker").
.PHONY: bench-docker
bench-docker: deps all $(BUILD)/bench/timeit
	sh bench/docker.sh $(BENCH_RUNS)
# vessel build against buildah bud: a cold multi-stage build on a Debian base
# (made once with mmdebstrap) and a fully cached rebuild; docs/build.md.
.PHONY: bench-build
bench-build: deps all
	@sh bench/build.sh

# ---- fuzzing (tests/fuzz, docs/fuzzing.md) ---------------------------------
# One libFuzzer target per parser: build/fuzz/fuzz_<what>. The library is
# rebuilt with clang-14 and coverage instrumentation under build/fuzz/obj;
# libarchive and libcrypto are also linked directly, so the targets work
# whatever way the normal build binds them.
FUZZ_CC      ?= clang-14
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_FLAGS   := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer -O1 -g
FUZZ_CFLAGS   = $(filter-out -O2,$(CFLAGS)) $(FUZZ_FLAGS)
FUZZ_OBJS    := $(SRCS:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_SRCS    := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_DIR)/%)
# LAZY_PKGS/IMG_PKGS: the image libraries, however the normal build names them.
FUZZ_LIBS     = $(SHARED_LDLIBS) $(shell pkg-config --libs $(LAZY_PKGS) $(IMG_PKGS) 2>/dev/null) -ldl -lpthread
# Seconds per target: the smoke run of `make test`, and `make fuzz-long`.
FUZZ_SMOKE_SECONDS ?= 15
FUZZ_LONG_SECONDS  ?= 3600

.PHONY: fuzz fuzz-smoke fuzz-long
# Objects only reached through the pattern rule below: keep them.
.SECONDARY: $(FUZZ_OBJS)

fuzz: $(FUZZ_BINS)

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/obj/src/runtime/execstub.o: $(EXECSTUB)
$(FUZZ_DIR)/obj/src/runtime/execstub.o: CFLAGS += -DVESSEL_EXECSTUB='"$(EXECSTUB)"'
$(FUZZ_DIR)/obj/src/vm/initramfs.o: $(AGENT) $(AGENT_DIGEST)
$(FUZZ_DIR)/obj/src/vm/initramfs.o: CFLAGS += $(INITRAMFS_FLAGS)
$(FUZZ_DIR)/obj/src/vm/kernel.o: guest/kernel.config guest/build-kernel.sh
$(FUZZ_DIR)/obj/src/engine/init.o: $(INIT)
$(FUZZ_DIR)/obj/src/engine/init.o: CFLAGS += -DVESSEL_INIT='"$(INIT)"'

# A harness may #include the .c file of the parser it fuzzes (to reach its
# static functions); "// fuzz-includes: src/x/y.c" names them, and their
# objects are left out of the link.
$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h $(FUZZ_OBJS)
	@mkdir -p $(dir $@)
	@echo "  FUZZLD  $@"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) $(LDFLAGS) -fsanitize=fuzzer -Itests/fuzz -o $@ $< \
	    $(filter-out $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(shell sed -n 's|^// fuzz-includes: ||p' $<)),$(FUZZ_OBJS)) \
	    $(FUZZ_LIBS)

# Every target for FUZZ_SMOKE_SECONDS on its corpus (part of `make test`).
fuzz-smoke: $(FUZZ_BINS)
	@sh tests/fuzz/run.sh $(FUZZ_SMOKE_SECONDS) $(FUZZ_BINS)

# The long run: FUZZ_LONG_SECONDS per target, two at a time, niced; new
# inputs go to build/fuzz/corpus-long/<target> (tests/fuzz/corpus stays small).
fuzz-long: $(FUZZ_BINS)
	@FUZZ_LONG=1 sh tests/fuzz/run.sh $(FUZZ_LONG_SECONDS) $(FUZZ_BINS)

-include $(FUZZ_OBJS:.o=.d)
# ---- end fuzzing -----------------------------------------------------------

# docs/cli.md's command list and docs/cli-engine.md, from the binary's
# command table and --help (tests/integration/test_cli_docs.py checks them).
cli-docs: $(BIN)
	@VESSEL=$(BIN) sh scripts/gen-cli-docs.sh update
