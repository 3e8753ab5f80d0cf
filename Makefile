# micro-kernel-rs. `make run` boots the kernel in QEMU; `make test` runs every test.
# Every target installs what it is missing first (as root), or says what to install.

KERNEL_ARGS ?=
, := ,
ISO         ?= build/micro-kernel.iso
ELF         := target/x86_64-unknown-none/release/micro-kernel
MEM         ?= 256M
HTTP_PORT   ?= 8080
GDB_PORT    ?= 1234
REQUESTS    ?= 100000
HOST_TARGET := x86_64-unknown-linux-gnu
# The emulated machine and network card for run and debug: MACHINE=pc (i440FX) or q35;
# NIC=rtl8139, e1000 (82540EM), e1000e (82574L), e1000-82545em, or default (the machine's
# own card: the 82540EM on pc, the 82574L on q35). `make run` is pc with an RTL8139;
# `make run MACHINE=q35` takes q35's default 82574L.
MACHINE     ?= pc
NIC         ?= $(if $(filter pc,$(MACHINE)),rtl8139,default)
# Extra QEMU arguments for run and debug, e.g. a traffic capture:
#   make run QEMU_EXTRA="-object filter-dump,id=f0,netdev=n0,file=build/net.pcap"
QEMU_EXTRA  ?=
QEMU_COMMON := -accel tcg -M $(MACHINE) -m $(MEM) -no-reboot \
               -device isa-debug-exit,iobase=0xf4,iosize=0x04
# UEFI=1 boots the same ISO under OVMF (UEFI firmware) instead of SeaBIOS, on MACHINE (pc
# or q35); with a graphical session (DISPLAY set) the screen, the framebuffer console, opens
# in a window, and the serial log stays in the terminal:  make run UEFI=1 MACHINE=q35
# The firmware's variable store is copied to build/ so that QEMU may write to it.
UEFI        ?=
OVMF_DIR    := /usr/share/OVMF
ifeq ($(UEFI),1)
QEMU_FIRMWARE := -drive if=pflash,format=raw,readonly=on,file=$(OVMF_DIR)/OVMF_CODE_4M.fd \
                 -drive if=pflash,format=raw,file=build/OVMF_VARS.fd
QEMU_DISPLAY  := $(if $(DISPLAY)$(WAYLAND_DISPLAY),,-display none)
else
QEMU_FIRMWARE :=
QEMU_DISPLAY  := -display none
endif
# The card on QEMU's user network (netdev n0, for set_link and filter-dump): $(call qemu_nic,NETDEV-OPTIONS)
qemu_nic = $(if $(filter default,$(NIC)),-nic user$(1),-netdev user$(1) -device $(NIC),netdev=n0)

.PHONY: all kernel iso run debug capture bochs test soak exercise exercises synflood udpflood lossylink unit-test lint bench book clean deps-build deps-run

all: iso

deps-build:
	@tools/ensure-deps.sh build

deps-run:
	@tools/ensure-deps.sh build run

kernel: deps-build
	cargo build --release

# The kernel ELF plus grub.cfg, staged in iso/ and packed by grub-mkrescue.
iso: kernel
	tools/mkiso.sh $(ELF) $(ISO) iso $(KERNEL_ARGS)
	@echo "built $(ISO) ($$(stat -c %s $(ISO)) bytes), kernel arguments: '$(KERNEL_ARGS)'"

# The serial console and the QEMU monitor share this terminal: Ctrl-A C switches between them,
# Ctrl-A X quits QEMU. Everything they print is also copied to $(CONSOLE_LOG).
CONSOLE_LOG := build/console.log
CONSOLE     := -chardev stdio,id=console,mux=on,logfile=$(CONSOLE_LOG) \
               -serial chardev:console -mon chardev=console

# UEFI=1 for OVMF instead of the BIOS (see QEMU_FIRMWARE above), the card NIC on QEMU's user
# network, host 127.0.0.1:$(HTTP_PORT) forwarded to guest port 80.
# A test boot ends QEMU itself (src/cpu/qemu.rs): a self-test (KERNEL_ARGS=selftest) with 33
# when every test passed and 35 when one failed, a crash test (KERNEL_ARGS=crashtest=NAME) with
# 35 once the kernel has reported the deliberate fault. tools/boot-verdict.sh says which in
# words: a crash test that was reported as designed is a success.
run: deps-run iso
	@if [ "$(UEFI)" = 1 ]; then cp $(OVMF_DIR)/OVMF_VARS_4M.fd build/OVMF_VARS.fd; fi
	@port=$$(tools/free-port.sh $(HTTP_PORT)); \
	case " $(KERNEL_ARGS) " in \
	    *" crashtest="*) echo "Booting $(ISO): a crash test. The kernel provokes the fault, reports it and stops QEMU." ;; \
	    *" selftest "*) echo "Booting $(ISO) on $(MACHINE) with NIC=$(NIC): the self-tests. QEMU stops when they are done." ;; \
	    *) echo "Booting $(ISO) on $(MACHINE) with NIC=$(NIC). Open http://127.0.0.1:$$port/ once the kernel logs READY." ;; \
	esac; \
	echo "Quit with Ctrl-A then X (Ctrl-A C: the QEMU monitor and back). A copy goes to $(CONSOLE_LOG)."; \
	rm -f $(CONSOLE_LOG); \
	qemu-system-x86_64 $(QEMU_COMMON) $(QEMU_FIRMWARE) -cdrom $(ISO) $(CONSOLE) $(QEMU_DISPLAY) \
	    $(call qemu_nic,$(,)id=n0$(,)hostfwd=tcp:127.0.0.1:$$port-:80) $(QEMU_EXTRA); \
	tools/boot-verdict.sh $$? $(CONSOLE_LOG) $(KERNEL_ARGS)

# QEMU stops before the first instruction and waits for gdb on 127.0.0.1:$(GDB_PORT). A QEMU
# left running by an earlier `make debug` (closing its terminal does not always end it) keeps
# that port, and gdb would attach to the old kernel: tools/port-owner.sh finds it first.
debug: deps-run iso
	@if owner=$$(tools/port-owner.sh $(GDB_PORT)); then \
	    echo "make debug: port $(GDB_PORT) is already taken, by $$owner."; \
	    echo "Most likely the QEMU of an earlier make debug, still running: gdb would attach to that old kernel."; \
	    echo "Quit it with Ctrl-A X in its terminal or kill its PID, or use another port: make debug GDB_PORT=1235"; \
	    exit 1; \
	fi
	@echo "In another terminal:"
	@echo "    gdb $(ELF) -ex 'target remote localhost:$(GDB_PORT)' -ex 'hbreak kmain' -ex continue"
	@echo "Quit QEMU with Ctrl-A then X (closing this terminal may leave it running)."
	qemu-system-x86_64 $(QEMU_COMMON) -cdrom $(ISO) $(CONSOLE) -display none \
	    $(call qemu_nic,$(,)id=n0) -gdb tcp:127.0.0.1:$(GDB_PORT) -S $(QEMU_EXTRA)

# One request on the wire (chapter 8): boots the ISO as `make run` does, with QEMU's filter-dump
# recording the card's traffic into build/capture.pcap, makes one GET / from the host, waits
# for the connection's close and prints every frame decoded (tests/capture.py). tshark or
# Wireshark open the same file.
capture: deps-run iso
	@python3 tests/capture.py $(ISO)

# The ISO under Bochs (its own e1000, on its slirp network with host 127.0.0.1:$(HTTP_PORT), or a
# free port, forwarded to guest port 80), its display in this terminal; the serial log goes to
# the file it names. Bochs is slower than QEMU and stricter in places.
bochs: deps-build iso
	@tools/ensure-deps.sh test
	@python3 tests/bochs.py $(ISO) $$(tools/free-port.sh $(HTTP_PORT))

# Everything: formatting, lints, host unit tests, in-kernel self-tests, end-to-end tests.
test: deps-run
	@tools/ensure-deps.sh test browser
	@tests/run-all.sh

# Too long for `make test`: 100,000 HTTP requests against one boot (REQUESTS=N to change),
# then heap, free frames, threads and sockets must be back at their idle values (tests/soak.py).
soak: deps-run kernel
	REQUESTS=$(REQUESTS) python3 tests/soak.py

# Attacks from a private network namespace over a tap device (namespaces and taps need root):
# synflood: a SYN flood, then 24 clients that vanish mid-request (tests/synflood.py);
# udpflood: GET / during a UDP flood at the host's full rate (tests/udpflood.py);
# lossylink: TCP through a relay that drops, duplicates, reorders and corrupts (tests/lossylink.py).
synflood udpflood lossylink:
	@if [ "$$(id -u)" != 0 ]; then \
	    echo "make $@ needs root (it creates a network namespace and a tap device):"; \
	    echo "run it from a root shell (su -), or with sudo where it is installed: sudo make $@"; \
	    exit 1; \
	fi
	@tools/ensure-deps.sh build run
	$(MAKE) iso ISO=build/attack.iso KERNEL_ARGS='ip=10.0.2.15/24 gw=10.0.2.2'
	python3 tests/$@.py build/attack.iso

# Figures, not tests: QEMU start to the first 200, requests/s with p50/p99, bulk MB/s, the
# smallest RAM that serves and the ISO size, for this kernel and for Linux guests on the same
# emulated NIC, beside the GRUB floor and the NIC's pktgen ceiling, over a tap in a private
# network namespace (bench/run.sh). RUNS=N rounds (3); NIC=e1000 for QEMU's Intel 82540EM.
# Writes build/bench/table.md and bench.svg, and copies the chart to docs/figures/.
bench: deps-run
	@tools/ensure-deps.sh bench
	$(MAKE) iso ISO=build/bench.iso KERNEL_ARGS='ip=10.0.2.15/24 gw=10.0.2.2'
	bench/run.sh build/bench.iso

# The walkthrough as a book (build/book/index.html). Installs mdbook with cargo if missing
# (a few minutes, once); cargo puts it in ~/.cargo/bin, which need not be on PATH.
MDBOOK = $(shell command -v mdbook || echo $(HOME)/.cargo/bin/mdbook)
book:
	@test -x "$(MDBOOK)" || cargo install mdbook --locked
	$(MDBOOK) build docs
	@echo "open build/book/index.html"

# The walkthrough's exercises: `make exercise EX=4.1` says whether exercise 4.1 is solved in
# this tree (tests/exercises/check.py; --list in `make exercise EX=--list`); `make exercises`
# proves every check against its reference solution in docs/solutions/ (tests/exercises/verify.py).
exercise: deps-run
	@test -n "$(EX)" || { echo "usage: make exercise EX=N.M (the number in the chapter)"; exit 2; }
	@python3 tests/exercises/check.py $(EX)

exercises: deps-run
	python3 tests/exercises/verify.py

unit-test:
	cargo test --lib --target $(HOST_TARGET)

lint:
	cargo fmt --all -- --check
	cargo clippy --release -- -D warnings
	cargo clippy --lib --tests --target $(HOST_TARGET) -- -D warnings

clean:
	cargo clean
	rm -rf build iso/boot/micro-kernel.elf iso/boot/grub/grub.cfg
