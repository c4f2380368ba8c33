# Orbis: two commands for a fresh Debian 12 machine, as root.
#
#   make run    install what is missing, build, start Postgres, Redis and
#               nginx with the module on http://127.0.0.1:8080
#   make test   the same set-up, then every test (unit and integration)

ROOT      := $(CURDIR)
NGX_SRC   ?= /usr/share/nginx/src
NGX_BUILD := build/nginx
MODULE    := $(NGX_BUILD)/objs/ngx_http_orbis_module.so
CORE      := liborbiscore/build/liborbiscore.so
MODULE_SRCS := config $(wildcard ngx_orbis_module/*.[ch] ngx_orbis_module/*/*.[ch])
PROVE_ARGS ?= -r t/

all: build

deps:
	@scripts/deps.sh

build: deps $(MODULE)

$(CORE): $(wildcard liborbiscore/src/*/*.c liborbiscore/src/*/*.h \
                    liborbiscore/include/orbiscore/*.h) liborbiscore/Makefile
	$(MAKE) -C liborbiscore

# Debian's nginx-dev ships the configure tree and the flags the packaged
# binary was built with; a module built this way loads into it.
$(NGX_BUILD)/objs/Makefile: config $(CORE) $(wildcard ngx_orbis_module/*.c \
                              ngx_orbis_module/*/*.c)
	rm -rf $(NGX_BUILD) && mkdir -p build && cp -r $(NGX_SRC) $(NGX_BUILD)
	cd $(NGX_BUILD) && bash -c '. ./conf_flags && ./configure \
	    "$${NGX_CONF_FLAGS[@]}" --add-dynamic-module=$(ROOT)' \
	    > $(ROOT)/build/configure.log 2>&1 \
	    || (tail -20 $(ROOT)/build/configure.log; exit 1)

$(MODULE): $(NGX_BUILD)/objs/Makefile $(MODULE_SRCS) $(CORE)
	$(MAKE) -C $(NGX_BUILD) -f objs/Makefile modules

run: build
	@scripts/run.sh

check-style:
	@scripts/check-style.sh

unit: $(CORE)
	$(MAKE) -C liborbiscore check

# every file of the fuzz corpora once, under ASan and UBSan (clang)
fuzz-replay: deps
	$(MAKE) -C liborbiscore fuzz-replay

# playwright-core drives Debian's chromium; it downloads no browser
browser-deps: t/browser/node_modules/playwright-core/package.json

t/browser/node_modules/playwright-core/package.json: t/browser/package.json
	npm ci --prefix t/browser --no-audit --no-fund

test: build check-style unit fuzz-replay browser-deps
	prove $(PROVE_ARGS)

clean:
	rm -rf build liborbiscore/build

.PHONY: all deps build run test unit fuzz-replay check-style browser-deps clean
