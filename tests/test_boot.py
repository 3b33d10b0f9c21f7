"""Booting as QEMU's virt board boots: the reset ROM, where the firmware,
kernel, initrd and device tree go, what the device tree holds, and OpenSBI
(-bios default, QEMU's default) entering an S-mode payload on every hart.
Each is compared with qemu-system-riscv64 when it is installed."""
import os
import re
import struct
import subprocess

import pytest

import vm

# Where godwit and QEMU find the default firmware (-bios default).
FIRMWARE = ("/usr/share/qemu/opensbi-riscv64-generic-fw_dynamic.bin",
            "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin")


@pytest.fixture(scope="session")
def firmware():
    found = [path for path in FIRMWARE if os.path.exists(path)]
    if not found:
        pytest.skip("OpenSBI's fw_dynamic is not installed (Debian package opensbi)")
    return found[0]


def run(binary, *args, timeout=30, stdin=None):
    return subprocess.run([str(binary), *args], input=stdin, stdin=None if stdin else subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def fake_linux_image(path, image_size=0x400000, file_size=0x10000):
    """A file with a RISC-V Linux Image header (both load it raw)."""
    data = bytearray(file_size)
    struct.pack_into("<QQ", data, 8, 0x200000, image_size)
    data[48:56] = b"RISCV\0\0\0"
    data[56:60] = b"RSC\x05"
    path.write_bytes(bytes(data))
    return path


# -- the device tree -----------------------------------------------------------

def dump_tree(binary, tmp_path, name, *args):
    dtb = tmp_path / f"{name}.dtb"
    proc = run(binary, "-M", f"virt,dumpdtb={dtb}", "-display", "none", *args)
    assert proc.returncode == 0, proc.stderr
    dts = subprocess.run(["dtc", "-q", "-I", "dtb", "-O", "dts", str(dtb)], capture_output=True, text=True)
    assert dts.returncode == 0, dts.stderr
    return dts.stdout


def parse_dts(text):
    """{node path: {property: value text}} and the node paths in order."""
    nodes, order, stack = {}, [], []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("/dts-v1/"):
            continue
        opened = re.fullmatch(r"(\S+) \{", line)
        if opened:
            name = opened.group(1)
            stack.append(name)
            path = "/" + "/".join(s for s in stack[1:]) if len(stack) > 1 else "/"
            nodes[path] = {}
            order.append(path)
        elif line == "};":
            stack.pop()
        else:
            path = "/" + "/".join(stack[1:]) if len(stack) > 1 else "/"
            name, _, value = line.rstrip(";").partition(" = ")
            nodes[path][name] = value
    return nodes, order


# What QEMU's tree has that godwit's does not, and why.
QEMU_ONLY_NODES = {
    "/platform-bus@4000000",  # dynamic sysbus devices: godwit has none
    "/pmu",                   # SBI PMU event map: godwit has no hardware performance counters
    "/fw-cfg@10100000",       # QEMU's firmware configuration device
    "/flash@20000000",        # the two pflash banks
    "/soc/pci@30000000",      # the PCIe host bridge
}
# Properties of each cpu node that depend on the ISA each implements.
ISA_PROPERTIES = {"riscv,isa", "riscv,isa-base", "riscv,isa-extensions", "mmu-type",
                  "riscv,cbom-block-size", "riscv,cbop-block-size", "riscv,cboz-block-size"}


def comparable(nodes):
    out = {}
    for path, props in nodes.items():
        if any(path == n or path.startswith(n + "/") for n in QEMU_ONLY_NODES):
            continue
        props = dict(props)
        if re.fullmatch(r"/cpus/cpu@\d+", path):
            props = {k: v for k, v in props.items() if k not in ISA_PROPERTIES}
        if path == "/chosen" and "rng-seed" in props:
            # 32 random bytes on both: compare the size only.
            props["rng-seed"] = len(props["rng-seed"].strip("<>").split())
        out[path] = props
    return out


@pytest.mark.parametrize("smp", [1, 2, 4])
def test_device_tree_matches_qemu(godwit, qemu, firmware, guest, tmp_path, smp):
    options = ["-smp", str(smp), "-m", "256M", "-kernel", str(guest("sbi/sbi_hello")), "-append", "x"]
    ours, our_order = parse_dts(dump_tree(godwit, tmp_path, "godwit", *options))
    theirs, their_order = parse_dts(dump_tree(qemu, tmp_path, "qemu", *options))
    assert comparable(ours) == comparable(theirs)
    assert ours["/chosen"]["rng-seed"] != theirs["/chosen"]["rng-seed"]
    # Linux numbers the virtio transports in tree order: highest address first.
    virtio = [p for p in their_order if "virtio_mmio" in p]
    assert [p for p in our_order if "virtio_mmio" in p] == virtio
    assert [p for p in our_order if p.count("/") == 1] == \
        [p for p in their_order if p.count("/") == 1 and p not in QEMU_ONLY_NODES]


def chosen(dts):
    nodes, _ = parse_dts(dts)
    return nodes["/chosen"]


@pytest.mark.parametrize("memory", ["128M", "256M", "1G"])
def test_initrd_goes_where_qemu_puts_it(godwit, qemu, firmware, tmp_path, memory):
    image = fake_linux_image(tmp_path / "Image")
    initrd = tmp_path / "initrd"
    initrd.write_bytes(b"\x5a" * 1000)
    options = ["-m", memory, "-kernel", str(image), "-initrd", str(initrd), "-append", "root=/dev/ram0"]
    ours = chosen(dump_tree(godwit, tmp_path, "godwit", *options))
    theirs = chosen(dump_tree(qemu, tmp_path, "qemu", *options))
    for prop in ("linux,initrd-start", "linux,initrd-end", "bootargs"):
        assert ours[prop] == theirs[prop], prop


def test_given_tree_is_used_with_chosen_fixed_up(godwit, firmware, tmp_path):
    source = tmp_path / "mine.dts"
    source.write_text('/dts-v1/;\n/ { model = "mine"; #address-cells = <2>; #size-cells = <2>; chosen { }; };\n')
    dtb = tmp_path / "mine.dtb"
    subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", str(dtb), str(source)], check=True)
    image = fake_linux_image(tmp_path / "Image")
    dts = dump_tree(godwit, tmp_path, "out", "-dtb", str(dtb), "-kernel", str(image), "-append", "quiet")
    assert 'model = "mine"' in dts
    assert chosen(dts) == {"bootargs": '"quiet"'}  # no rng-seed added, as QEMU


# -- the reset ROM and what it points at -------------------------------------

def hmp(binary, *options, commands):
    proc = run(binary, "-M", "virt", "-display", "none", "-serial", "none", "-S", "-monitor", "stdio",
               *options, stdin="".join(c + "\n" for c in commands) + "quit\n")
    return [line for line in proc.stdout.splitlines() if re.match(r"^[0-9a-f]{16}:", line)]


@pytest.mark.parametrize("bios, memory", [("default", "256M"), ("default", "1G"), ("none", "128M")])
def test_reset_rom_and_placement_match_qemu(godwit, qemu, firmware, tmp_path, bios, memory):
    image = fake_linux_image(tmp_path / "Image")
    options = ["-bios", bios, "-m", memory, "-kernel", str(image)]
    commands = ["xp /12gx 0x1000",     # the ROM: code, start, device tree, fw_dynamic_info
                "xp /2wx 0x80200030"]  # the Image's magic, where fw_dynamic's kernel goes
    ours = hmp(godwit, *options, commands=commands)
    theirs = hmp(qemu, *options, commands=commands)
    assert len(theirs) == 7, theirs
    assert ours == theirs


# -- command-line errors -------------------------------------------------------

@pytest.mark.parametrize("args, line", [
    (["-kernel", "/nonexistent/Image"], "-kernel: cannot read '/nonexistent/Image': No such file or directory"),
    (["-kernel", "@IMAGE", "-initrd", "/nonexistent/initrd"],
     "-initrd: cannot read '/nonexistent/initrd': No such file or directory"),
    (["-dtb", "/nonexistent/virt.dtb"], "-dtb: cannot read '/nonexistent/virt.dtb': No such file or directory"),
    (["-initrd", "@IMAGE"], "-initrd only allowed with -kernel option"),
    (["-append", "quiet"], "-append only allowed with -kernel option"),
    (["-bios", "/nonexistent/fw.bin"], "-bios: could not find firmware '/nonexistent/fw.bin'"),
    (["-kernel", "@IMAGE", "-initrd", "@BIG", "-m", "64M"], "-initrd '@BIG': its 41943040 bytes do not fit in RAM"),
    (["-kernel", "@IMAGE", "-dtb", "@IMAGE"], "-dtb '@IMAGE': not a valid device tree: FDT_ERR_BADMAGIC"),
])
def test_boot_errors_name_the_option_and_file(godwit, firmware, tmp_path, args, line):
    image = fake_linux_image(tmp_path / "Image")
    big = tmp_path / "big"
    big.write_bytes(bytes(40 << 20))
    args = [a.replace("@IMAGE", str(image)).replace("@BIG", str(big)) for a in args]
    line = line.replace("@IMAGE", str(image)).replace("@BIG", str(big))
    proc = run(godwit, "-M", "virt", "-display", "none", "-serial", "none", *args)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert line in lines[0]


# -- OpenSBI entering an S-mode payload ----------------------------------------

# Lines of OpenSBI's banner that describe the board and the boot, which must
# agree; the rest describe the hart (ISA extensions, PMP, counters, debug
# triggers, delegation), where godwit's hart is not QEMU's.
AGREEING_BANNER = ("OpenSBI v", "Platform Name", "Platform HART Count", "Platform IPI Device",
                   "Platform Timer Device", "Platform Console Device", "Platform Reboot Device",
                   "Platform Shutdown Device", "Firmware Base", "Firmware Size", "Runtime SBI Version",
                   "Domain0 HARTs", "Domain0 Next Address", "Domain0 Next Arg1", "Domain0 Next Mode",
                   "Domain0 SysReset", "Boot HART ID", "Boot HART Domain")


def agreeing_lines(output):
    """What must agree, independent of which hart booted: OpenSBI's cold-boot
    hart is whichever hart wins its lottery, and godwit's harts race for it on
    host threads (QEMU's first vCPU usually wins), so the boot hart's number
    is masked and the harts it started are compared as a set: together with
    the boot hart they must be every hart, each started with its own opaque."""
    lines = [line for line in output.splitlines()
             if line.startswith("sbi_hello:") or line.startswith(AGREEING_BANNER)]
    harts = []
    kept = []
    for line in lines:
        boot = re.match(r"^(Boot HART ID\s*: |sbi_hello: boot hart )(\d+)", line)
        started = re.match(r"^sbi_hello: hart (\d+) started through HSM with opaque (\d+)$", line)
        if started:
            assert int(started.group(2)) == 100 + int(started.group(1)), line
            harts.append(int(started.group(1)))
            continue
        if boot:
            if line.startswith("sbi_hello"):
                harts.append(int(boot.group(2)))
            line = boot.group(1) + "N" + line[boot.end():]
        kept.append(line)
    return kept, sorted(harts)


@pytest.mark.parametrize("smp", [1, 4, 8])
def test_opensbi_runs_an_s_mode_payload_as_on_qemu(godwit, qemu, firmware, guest, smp):
    options = dict(smp=smp, memory="256M", append="hello world", bios="default")
    ref_status, ref_out, ref_err = vm.run_to_exit(qemu, guest("sbi/sbi_hello"), **options)
    assert ref_status == 0, ref_err
    status, out, err = vm.run_to_exit(godwit, guest("sbi/sbi_hello"), timeout=120, **options)
    assert f"sbi_hello: {smp} harts ran; shutting down through SRST" in out, out + err
    assert status == 0, err
    assert agreeing_lines(out) == agreeing_lines(ref_out)
    assert agreeing_lines(out)[1] == list(range(smp)), out
