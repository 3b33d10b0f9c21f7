"""The layers of src/ hold: every #include goes down (or sideways where the
table allows), and each CMake library declares exactly the subsystems its
includes reach.

Dependencies point one way:
  base <- memory <- cpu, devices <- machine <- monitor, cli
with io, chardev, block and net as low service layers and migration (stream, engine,
transports) below the machine, which implements MigratableVm for it. A
header-only include is a dependency too, so it is checked here rather than
left to the linker, which would not notice.

Test files (*_test.cpp, *_test_util.hpp) may also reach the subsystems that
their library's TEST_DEPS declare: a device's golden-stream test needs the
stream, the device does not.
"""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
SRC = ROOT / "src"

# Which subsystems each subsystem's own code may include (itself always).
ALLOWED = {
    "base": set(),
    "memory": {"base"},
    "cpu": {"base", "memory"},
    "io": {"base"},
    "chardev": {"base", "io"},
    "block": {"base", "io"},
    # Network backends (libslirp on the I/O loop).
    "net": {"base", "io"},
    # Interrupt wires to the harts (HartControl) and the UART's backend.
    "devices": {"base", "memory", "cpu", "chardev"},
    "migration": {"base", "memory", "io"},
    # Transport, virtqueues and device backends (their disks, chardevs and
    # network backends).
    "virtio": {"base", "memory", "io", "devices", "chardev", "block", "net"},
    "machine": {"base", "memory", "cpu", "devices", "io", "chardev", "migration", "virtio", "block", "net"},
    "monitor": {"base", "memory", "cpu", "devices", "io", "chardev", "migration", "machine", "virtio", "block",
                "net"},
    "cli": {"base", "memory", "cpu", "devices", "io", "chardev", "migration", "machine", "monitor", "virtio",
            "block", "net"},
}
# Never, whatever a CMake line says: the rule the table above spells out.
FORBIDDEN_BELOW = {"machine", "migration", "monitor", "cli"}
LOW = {"base", "memory", "cpu", "devices", "chardev", "io", "virtio", "block", "net"}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/[^"]+"')
SUBSYSTEM = re.compile(r"^\s*godwit_subsystem\((\w+)([^)]*)\)", re.M)


def is_test_file(path):
    name = path.name
    return name.endswith("_test.cpp") or name.endswith("_test_util.hpp")


def includes():
    """(subsystem, path, line number, included subsystem, is test) for every quoted include."""
    for path in sorted(SRC.rglob("*")):
        if path.suffix not in (".cpp", ".hpp"):
            continue
        subsystem = path.relative_to(SRC).parts[0]
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = INCLUDE.match(line)
            if match:
                yield subsystem, path.relative_to(ROOT), number, match.group(1), is_test_file(path)


def cmake_deps():
    """{subsystem: (DEPS, TEST_DEPS)} as godwit subsystem names."""
    text = (ROOT / "CMakeLists.txt").read_text()
    deps = {}
    for name, args in SUBSYSTEM.findall(text):
        words = args.split()
        groups = {"DEPS": set(), "TEST_DEPS": set()}
        current = None
        for word in words:
            if word in groups:
                current = word
            elif current and word.startswith("godwit_"):
                groups[current].add(word[len("godwit_"):])
        deps[name] = (groups["DEPS"], groups["TEST_DEPS"])
    return deps


def test_every_subsystem_is_in_the_table():
    folders = {p.name for p in SRC.iterdir() if p.is_dir()}
    assert folders == set(ALLOWED), "src/ folders and the layer table differ"
    assert set(cmake_deps()) == folders, "CMakeLists.txt and src/ folders differ"


def test_includes_follow_the_layers():
    deps = cmake_deps()
    broken = []
    for subsystem, path, number, target, test in includes():
        if target == subsystem or target not in ALLOWED:
            continue
        allowed = ALLOWED[subsystem] | (deps[subsystem][1] if test else set())
        if target not in allowed:
            broken.append(f"{path}:{number}: {subsystem}/ includes {target}/")
        elif subsystem in LOW and target in FORBIDDEN_BELOW and not test:
            broken.append(f"{path}:{number}: {subsystem}/ includes {target}/")
    assert not broken, "includes that break the layers:\n" + "\n".join(broken)


def test_memory_knows_no_devices():
    broken = [f"{path}:{number}" for subsystem, path, number, target, _ in includes()
              if subsystem == "memory" and target == "devices"]
    assert not broken, "memory/ includes devices/ at:\n" + "\n".join(broken)


def test_cmake_declares_exactly_what_the_includes_reach():
    deps = cmake_deps()
    reached = {name: set() for name in deps}
    test_reached = {name: set() for name in deps}
    for subsystem, path, _, target, test in includes():
        if target == subsystem or target not in deps:
            continue
        if path.name == "main.cpp":  # the godwit executable, linked on its own
            continue
        (test_reached if test else reached)[subsystem].add(target)
    problems = []
    for name, (declared, test_declared) in sorted(deps.items()):
        if declared != reached[name]:
            problems.append(f"{name}: DEPS {sorted(declared)}, includes reach {sorted(reached[name])}")
        extra = test_reached[name] - reached[name]
        if test_declared != extra:
            problems.append(f"{name}: TEST_DEPS {sorted(test_declared)}, tests also reach {sorted(extra)}")
    assert not problems, "CMake dependencies differ from the includes:\n" + "\n".join(problems)
