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
	   -Icommon -Iproducer -Iworker -Icache $(PKG_CFLAGS) -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) $(EXTRA_LDFLAGS)
LIBS	 = $(PKG_LIBS) -lm

LIB_SRCS  := $(sort $(wildcard common/*.c producer/*.c worker/*.c cache/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)

ASAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined

.PHONY: all clean test test-plain test-asan unit asan install

all: dteq

dteq: $(BUILD)/dteq
	cp $(BUILD)/dteq dteq

$(BUILD)/dteq: $(BUILD)/dteq.o $(LIB_OBJS)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) $(LIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB_OBJS) tests/test.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $< $(LIB_OBJS) $(ALL_LDFLAGS) $(LIBS)

unit: $(BUILD)/dteq $(UNIT_BINS)

asan:
	$(MAKE) BUILD=build-asan EXTRA_CFLAGS="$(ASAN_FLAGS)" \
	    EXTRA_LDFLAGS="$(ASAN_FLAGS)" CFLAGS="-O1 -g" unit

# make test: the whole suite on the plain build, then again under
# AddressSanitizer + UndefinedBehaviorSanitizer; one closing count.
test: unit asan
	tests/run.sh $(BUILD) build-asan

test-plain: unit
	tests/run.sh $(BUILD)

test-asan: asan
	tests/run.sh build-asan

install: dteq
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 dteq $(DESTDIR)$(PREFIX)/bin/dteq

clean:
	rm -rf build build-asan dteq tests/logs

-include $(shell find $(BUILD) build-asan -name '*.d' 2>/dev/null)
