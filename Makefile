# iou-shim build. `make` builds the library and the test helpers; `make test` runs the suite.
# V=1 shows the commands.
CC      ?= gcc
CFLAGS  ?= -O2 -g
PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build

ifeq ($(V),1)
Q :=
else
Q := @
endif

WARN        := -Wall -Wextra -Werror
SHIM_FLAGS  := -std=gnu11 $(WARN) -fPIC -fvisibility=hidden -ftls-model=initial-exec \
               -fno-strict-aliasing -D_GNU_SOURCE -Iinclude
SHIM_LDFLAGS := -shared -Wl,-z,defs -Wl,-z,now -Wl,--version-script=shim/exports.map \
                -Wl,--exclude-libs,ALL
# liburing from Debian's liburing-dev, linked statically so it can never clash with a program's own.
SHIM_LIBS   := -l:liburing.a -ldl -lpthread

SHIM_SRCS := $(wildcard shim/*.c)
SHIM_OBJS := $(patsubst shim/%.c,$(BUILD)/shim/%.o,$(SHIM_SRCS))
SHIM_LIB  := $(BUILD)/libiou_shim.so

HELPER_SRCS := $(wildcard tests/helpers/*.c)
HELPERS     := $(patsubst tests/helpers/%.c,$(BUILD)/helpers/%,$(HELPER_SRCS))
HELPER_FLAGS := -std=gnu11 $(WARN) -O1 -g -D_GNU_SOURCE

BENCH_SRCS := $(wildcard bench/*.c)
BENCHES    := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

.PHONY: all lib helpers test bench asan ubsan clean install uninstall
all: lib helpers

lib: $(SHIM_LIB)
helpers: $(HELPERS)

$(BUILD)/shim/%.o: shim/%.c $(wildcard include/iou/*.h) Makefile
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(SHIM_FLAGS) $(CFLAGS) $(EXTRA_CFLAGS) -c $< -o $@

$(SHIM_LIB): $(SHIM_OBJS) shim/exports.map
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(EXTRA_CFLAGS) $(SHIM_LDFLAGS) -o $@ $(SHIM_OBJS) $(SHIM_LIBS)

$(BUILD)/helpers/%: tests/helpers/%.c tests/helpers/helper.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(HELPER_FLAGS) -o $@ $< -lpthread

$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) -std=gnu11 $(WARN) -O2 -D_GNU_SOURCE -o $@ $< -l:liburing.a -lpthread

# install-deps is a quick dpkg check when everything is there, so `make test` works on a fresh machine.
test:
	$(Q)scripts/install-deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/run

bench: all $(BENCHES)
	$(Q)bench/run

# Instrumented builds: the library is rebuilt under build-asan/ or build-ubsan/ and the suite runs with it.
asan:
	$(MAKE) BUILD=build-asan CC=$(CC) EXTRA_CFLAGS="-fsanitize=address -fno-omit-frame-pointer" all
	IOU_TEST_BUILD=build-asan tests/run
ubsan:
	$(MAKE) BUILD=build-ubsan CC=$(CC) EXTRA_CFLAGS="-fsanitize=undefined -fno-sanitize-recover=all" all
	IOU_TEST_BUILD=build-ubsan tests/run

install: lib
	install -d $(DESTDIR)$(PREFIX)/lib/iou-shim $(DESTDIR)$(PREFIX)/bin
	install -m 0644 $(SHIM_LIB) $(DESTDIR)$(PREFIX)/lib/iou-shim/libiou_shim.so
	install -m 0755 scripts/iou-run $(DESTDIR)$(PREFIX)/bin/iou-run

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/iou-shim/libiou_shim.so $(DESTDIR)$(PREFIX)/bin/iou-run
	-rmdir $(DESTDIR)$(PREFIX)/lib/iou-shim 2>/dev/null

clean:
	rm -rf build build-asan build-ubsan
