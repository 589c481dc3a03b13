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
	@$(MAKE) --no-print-directory all asan $(BENCH_BINS) $(FUZZ_BINS)
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
FUZZ_LIBS     = $(LDLIBS) $(shell pkg-config --libs $(LAZY_PKGS) $(IMG_PKGS) 2>/dev/null) -ldl -lpthread
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
