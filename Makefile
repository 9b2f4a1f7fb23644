# dteq: build, test, install.

PREFIX	?= /usr/local
BUILD	?= build
CC	?= cc
USE_WERROR ?= 1

PKGS	 = libevent hiredis libcjson libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN	 = -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wshadow \
	   -Wwrite-strings -Wpointer-arith -Wformat=2
ifeq ($(USE_WERROR),1)
WARN	+= -Werror
endif
CFLAGS	?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(EXTRA_CFLAGS) \
	   $(PKG_CFLAGS) -MMD -MP

# The layering (docs/design.md): each folder sees only the headers of the
# folders it may use, so a forbidden include does not compile.
#   common/    nothing else          tools/   common
#   cache/     common                worker/  common cache
#   producer/  common tools cache    cmd/     common tools
# dteq.c (the subcommand table) and the tests see every folder.
INC_common   = -Icommon
INC_tools    = -Icommon -Itools
INC_cache    = -Icommon -Icache
INC_worker   = -Icommon -Icache -Iworker
INC_producer = -Icommon -Itools -Icache -Iproducer
INC_cmd      = -Icommon -Itools -Icmd
INC_ALL      = -Icommon -Itools -Icache -Iworker -Iproducer -Icmd
FOLDERS      = common tools cache worker producer cmd
# The folder of a source path (build/producer/x.o -> producer), else "ALL".
inc_of = $(or $(INC_$(firstword $(subst /, ,$(patsubst $(BUILD)/%,%,$(1))))),$(INC_ALL))
ALL_LDFLAGS = $(LDFLAGS) $(EXTRA_LDFLAGS)
LIBS	 = $(PKG_LIBS) -lm

LIB_SRCS  := $(sort $(foreach d,$(FOLDERS),$(wildcard $(d)/*.c)))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/tools/nxrunner_js.o
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)

ASAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined

.PHONY: all clean test test-plain test-asan unit asan install static man
.PHONY: print-inc
.PHONY: bench

all: dteq

dteq: $(BUILD)/dteq
	cp $(BUILD)/dteq dteq.tmp && mv -f dteq.tmp dteq

$(BUILD)/dteq: $(BUILD)/dteq.o $(LIB_OBJS)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) $(LIBS)

# The tests link the objects they need from an archive, not the whole
# program.
$(BUILD)/libdteq.a: $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(call inc_of,$<) -c -o $@ $<

# The Nx runner (tools/nxrunner.js) is built into the binary as a string.
$(BUILD)/tools/nxrunner_js.c: tools/nxrunner.js scripts/embed.sh
	@mkdir -p $(dir $@)
	sh scripts/embed.sh nxrunner_js tools/nxrunner.js >$@.tmp
	mv -f $@.tmp $@

$(BUILD)/tools/nxrunner_js.o: $(BUILD)/tools/nxrunner_js.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libdteq.a tests/test.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(INC_ALL) -Itests -o $@ $< $(BUILD)/libdteq.a \
	    $(ALL_LDFLAGS) $(LIBS)

unit: $(BUILD)/dteq $(UNIT_BINS)

# make print-inc FOLDER=producer: the include flags of one folder (the
# layering test compiles forbidden includes with them).
print-inc:
	@echo $(INC_$(FOLDER))

asan:
	$(MAKE) BUILD=build-asan EXTRA_CFLAGS="$(ASAN_FLAGS)" \
	    EXTRA_LDFLAGS="$(ASAN_FLAGS)" CFLAGS="-O1 -g" unit

# make test: the whole suite on the plain build, then again under
# AddressSanitizer + UndefinedBehaviorSanitizer, then each fuzz target for
# TEST_FUZZ_SECONDS; one closing count. The three builds go two at a time.
test:
	$(MAKE) -j2 unit asan fuzz-bin
	FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(TEST_FUZZ_SECONDS) \
	    tests/run.sh $(BUILD) build-asan

test-plain: unit
	tests/run.sh $(BUILD)

test-asan: asan
	tests/run.sh build-asan

# make bench: the benchmarks against xargs and BullMQ (bench/README.md),
# short profile (under 5 minutes); make bench BENCH=full for the long one.
BENCH	?= short
bench: $(BUILD)/dteq
	python3 bench/bench.py --profile $(BENCH) --dteq $(BUILD)/dteq

MANDIR	?= $(PREFIX)/share/man

# make install [PREFIX=/usr/local] [DESTDIR=]: the binary and dteq(1).
install: $(BUILD)/dteq
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(BUILD)/dteq $(DESTDIR)$(PREFIX)/bin/dteq
	install -m 644 dteq.1 $(DESTDIR)$(MANDIR)/man1/dteq.1

# make static: dteq-static, a binary with hiredis, libevent, cJSON and
# libcrypto linked in and only glibc dynamic, which runs on a bare
# debian:12 or node:20 image: build it in one CI step, hand it to the
# others as an artifact. Debian ships no libcjson.a, so unless CJSON_A
# names one, scripts/cjson-static.sh builds it from Debian's cjson source
# package (with apt, into $(STATIC_BUILD)/cjson).
STATIC_BUILD ?= build-static
STATIC_OUT ?= dteq-static
CJSON_A	?= $(firstword $(wildcard /usr/lib/*/libcjson.a /usr/lib/libcjson.a \
	   /usr/local/lib/libcjson.a) $(STATIC_BUILD)/cjson/libcjson.a)
STATIC_LIBS = -Wl,-Bstatic -lhiredis -levent $(CJSON_A) -lcrypto \
	   -Wl,-Bdynamic -lm -ldl -pthread

static: $(CJSON_A)
	$(MAKE) BUILD=$(STATIC_BUILD) LIBS="$(STATIC_LIBS)" \
	    $(STATIC_BUILD)/dteq
	cp $(STATIC_BUILD)/dteq $(STATIC_OUT)

$(STATIC_BUILD)/cjson/libcjson.a:
	CC="$(CC)" sh scripts/cjson-static.sh $(STATIC_BUILD)/cjson

# make man: dteq(1) on the terminal, checked for warnings.
man:
	groff -man -Tutf8 -ww -z dteq.1 && man -l dteq.1

# make fuzz: libFuzzer targets (clang) for the parsers of untrusted input
# (tests/fuzz/fuzz_*.c), built in $(FUZZ_BUILD) and each run for
# FUZZ_SECONDS (default 20); a crash fails with its input shown and saved.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 20
TEST_FUZZ_SECONDS ?= 10
FUZZ_FLAGS = -fsanitize=fuzzer-no-link,address,undefined \
	   -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))

.PHONY: fuzz fuzz-bin fuzz-build

fuzz: fuzz-bin
	tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

fuzz-bin:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang CFLAGS="-O1 -g" \
	    EXTRA_CFLAGS="$(FUZZ_FLAGS)" EXTRA_LDFLAGS="$(FUZZ_FLAGS)" fuzz-build

fuzz-build: $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/tests/fuzz/%)

$(BUILD)/tests/fuzz/%: tests/fuzz/%.c $(BUILD)/libdteq.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(INC_ALL) -fsanitize=fuzzer -o $@ $< \
	    $(BUILD)/libdteq.a $(ALL_LDFLAGS) $(LIBS)

clean:
	rm -rf build build-asan build-fuzz build-dev build-static dteq \
	    dteq-static tests/logs

-include $(shell find $(BUILD) build-asan -name '*.d' 2>/dev/null)
