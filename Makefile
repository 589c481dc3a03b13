# vessel — see README.md. Targets: all (default), test, bench, run, asan, clean.
CC      ?= cc
# Linked normally. libarchive and libcrypto (image code only) are bound
# lazily through src/util/lazy_syms.c so that starting a container never
# loads them and their dependencies: only their headers are needed here.
PKGS      := json-c libseccomp libcap
LAZY_PKGS := libarchive libcrypto
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu17 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
           -D_GNU_SOURCE -Isrc $(shell pkg-config --cflags $(PKGS) $(LAZY_PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LDFLAGS += -Wl,--as-needed

BUILD   := build
SRCS    := $(sort $(wildcard src/*/*.c))
LIBOBJS := $(SRCS:%.c=$(BUILD)/%.o)
MAINOBJ := $(BUILD)/src/main.o
BIN     := $(BUILD)/vessel

ASAN_DIR    := $(BUILD)/asan
ASAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -O1
ASAN_OBJS   := $(SRCS:%.c=$(ASAN_DIR)/%.o)
UNIT_SRCS   := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS   := $(UNIT_SRCS:tests/unit/%.c=$(ASAN_DIR)/tests/%)

BENCH_BINS  := $(BUILD)/bench/floor $(BUILD)/bench/start-latency

# The exec stub: a freestanding static program embedded into vessel (see
# src/runtime/stub/execstub.c and src/runtime/execstub.c).
EXECSTUB    := $(BUILD)/execstub
STUB_FLAGS  := -O2 -static -nostdlib -nostartfiles -ffreestanding -fno-builtin \
               -fno-stack-protector -fno-pie -no-pie -fno-asynchronous-unwind-tables \
               -Wl,--build-id=none -s

.PHONY: all deps test unit integration bench run asan clean format

all: $(BIN)

deps:
	@sh scripts/deps.sh

$(BIN): $(LIBOBJS) $(MAINOBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(EXECSTUB): src/runtime/stub/execstub.c
	@mkdir -p $(dir $@)
	$(CC) $(STUB_FLAGS) -o $@ $<

$(BUILD)/src/runtime/execstub.o $(ASAN_DIR)/src/runtime/execstub.o: $(EXECSTUB)
$(BUILD)/src/runtime/execstub.o $(ASAN_DIR)/src/runtime/execstub.o: \
	CFLAGS += -DVESSEL_EXECSTUB='"$(EXECSTUB)"'

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(ASAN_DIR)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ASAN_FLAGS) -MMD -MP -c -o $@ $<

$(ASAN_DIR)/tests/%: tests/unit/%.c $(ASAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ASAN_FLAGS) -Itests/unit -o $@ $^ $(LDLIBS) -lcmocka

# Sanitizer build of the unit tests (and of the library they link).
asan: $(UNIT_BINS)

unit: asan
	@sh tests/run-unit.sh $(UNIT_BINS)

integration: $(BIN)
	@sh tests/run-integration.sh

# The README's test command: dependencies, build, unit + integration tests,
# one closing line "N passed, M failed".
test: deps
	@$(MAKE) --no-print-directory all asan $(BENCH_BINS)
	@sh tests/run-all.sh $(UNIT_BINS)

$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)

# Start latency (runtime), engine run and monitor RSS, image load vs tar.
bench: deps all $(BENCH_BINS)
	@sh bench/run.sh
	@sh bench/engine-run.sh
	@sh bench/image-load.sh

# The main job: build, prepare a busybox bundle, run a container from it.
run: deps all
	@sh scripts/run-demo.sh

format:
	clang-format -i $(SRCS) src/*.c $(wildcard src/*/*.h) $(UNIT_SRCS) $(wildcard bench/*.c)

clean:
	rm -rf $(BUILD)

-include $(LIBOBJS:.o=.d) $(MAINOBJ:.o=.d) $(ASAN_OBJS:.o=.d)

# --- microVM backend (src/vm, guest/; docs/vm.md) ---------------------------
# The guest agent: a static program embedded into vessel, which writes it
# into the guest's initramfs. The kernel's config fragment and build script
# are embedded too (src/vm/kernel.c), so editing them changes the kernel key.
AGENT := $(BUILD)/guest/agent
$(AGENT): guest/agent.c guest/proto.h
	@mkdir -p $(dir $@)
	$(CC) -O2 -static -std=gnu17 -Wall -Wextra -D_GNU_SOURCE -s -o $@ $<
$(BUILD)/src/vm/initramfs.o $(ASAN_DIR)/src/vm/initramfs.o: $(AGENT)
$(BUILD)/src/vm/initramfs.o $(ASAN_DIR)/src/vm/initramfs.o: \
	CFLAGS += -DVESSEL_AGENT='"$(AGENT)"'
$(BUILD)/src/vm/kernel.o $(ASAN_DIR)/src/vm/kernel.o: guest/kernel.config guest/build-kernel.sh

# Boot-to-exit of a VM container against a bare-QEMU floor (builds the guest
# kernel first if it is not cached).
.PHONY: bench-vm
bench-vm: deps all
	@sh bench/vm-boot.sh
