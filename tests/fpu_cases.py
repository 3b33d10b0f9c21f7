"""Generates a bare-metal guest that runs every F and D instruction over
edge-case operands in every rounding mode and prints each result's bits with
the flags it raised, for comparison between godwit and QEMU (test_fpu.py).

Each instruction variant (an instruction with one static rounding mode, or
the dynamic mode) is a small assembly routine: it loads its operands from
memory (f operands with fld, so singles can arrive properly NaN-boxed or
not), clears fflags, runs the instruction and stores the result register's
64 bits and fflags. For the dynamic variant the C loop sets frm to case
number mod 5 first, so all five modes go through frm. Operand lists are
shared between the instructions of one shape; the C side walks a table of
(routine, operand list) and prints one line per case.

Usage: python3 fpu_cases.py OUT.c   (or imported: write_program(path))
"""
import random
import struct
import sys

STATIC_MODES = ["rne", "rtz", "rdn", "rup", "rmm"]


def f32(value):
    return struct.unpack("<I", struct.pack("<f", value))[0]


def f64(value):
    return struct.unpack("<Q", struct.pack("<d", value))[0]


BOX = 0xFFFFFFFF00000000


def boxed(bits32):
    return BOX | bits32


# --- operand values ---------------------------------------------------------

SINGLE_CORE = [
    0x00000000, 0x80000000,              # +-0
    f32(1.0), f32(-1.0), f32(1.5), f32(-2.5), f32(3.0), f32(0.1),
    0x00000001, 0x807FFFFF,              # smallest subnormal, -largest subnormal
    0x00800000, 0x7F7FFFFF, 0xFF7FFFFF,  # smallest normal, +-largest normal
    0x7F800000, 0xFF800000,              # +-inf
    0x7FC00000, 0x7F800001, 0xFFC12345,  # quiet NaN, signaling NaN, quiet NaN with payload
    f32(1.0) + 1, 0x3F7FFFFF,            # 1 + ulp, 1 - ulp/2
]
SINGLE_EXTRA = [
    f32(0.5), f32(-0.5), f32(2.5), f32(-1.5), 0x4B800000, 0x4B800001,  # 2^24, 2^24 + 2
    0x4EFFFFFF, 0x4F000000, 0xCF000000, 0xCF000001, 0x4F800000, 0x4F7FFFFF,  # near 2^31, 2^32
    0x5EFFFFFF, 0x5F000000, 0xDF000000, 0xDF000001, 0x5F800000, 0x5F7FFFFF,  # near 2^63, 2^64
    0x3F000001, 0x3FC00000, 0x40200000, 0x7FA00000, 0xFF800001, 0x00400000, 0x0000FFFF,
    0x1F800000, 0x5F800000, 0x20000000,  # squares that overflow and underflow
]
DOUBLE_CORE = [
    0x0000000000000000, 0x8000000000000000,
    f64(1.0), f64(-1.0), f64(1.5), f64(-2.5), f64(3.0), f64(0.1),
    0x0000000000000001, 0x800FFFFFFFFFFFFF,
    0x0010000000000000, 0x7FEFFFFFFFFFFFFF, 0xFFEFFFFFFFFFFFFF,
    0x7FF0000000000000, 0xFFF0000000000000,
    0x7FF8000000000000, 0x7FF0000000000001, 0xFFF8000000012345,
    f64(1.0) + 1, 0x3FEFFFFFFFFFFFFF,
]
DOUBLE_EXTRA = [
    f64(0.5), f64(-0.5), f64(2.5), f64(-1.5), f64(2.0 ** 53), f64(2.0 ** 53 + 2),
    f64(2147483647.0), f64(2147483647.5), f64(2147483648.0), f64(-2147483648.0), f64(-2147483648.5),
    f64(-2147483649.0), f64(4294967295.0), f64(4294967295.5), f64(4294967296.0),
    0x43DFFFFFFFFFFFFF, f64(2.0 ** 63), f64(-(2.0 ** 63)), 0xC3E0000000000001, f64(2.0 ** 64), 0x43EFFFFFFFFFFFFF,
    f64(-0.25), f64(-0.75), 0x7FF4000000000000, 0x0008000000000000,
    0x1FF0000000000000, 0x5FF0000000000000, 0x47EFFFFFE0000000, 0x47EFFFFFF0000000,  # f32 max and its tie
    0x3690000000000000, 0x36A0000000000000, 0x36A8000000000000,  # around the f32 subnormal limit
    0x3810000000000000, 0x380FFFFFF0000000, 0x380FFFFFE0000000,
]
# Singles in f registers that are not properly NaN-boxed read as the
# canonical NaN.
UNBOXED = [0x000000003F800000, 0x7FFFFFFF40000000, 0xFFFFFFFE00000001]


def random_bits(rng, exponent_bits, fraction_bits):
    sign = rng.getrandbits(1)
    choice = rng.random()
    top = (1 << exponent_bits) - 1
    if choice < 0.15:
        exponent = rng.choice([0, 1, top - 1])
    elif choice < 0.2:
        exponent = top
    else:
        bias = top >> 1
        exponent = rng.randint(bias - 40, bias + 40) if rng.random() < 0.7 else rng.randint(0, top)
    fraction = rng.getrandbits(fraction_bits)
    if rng.random() < 0.2:
        fraction &= ~((1 << rng.randint(0, fraction_bits)) - 1)  # few low bits: ties and exact results
    return (sign << (exponent_bits + fraction_bits)) | (exponent << fraction_bits) | fraction


def singles(rng, count):
    return [boxed(random_bits(rng, 8, 23)) for _ in range(count)]


def doubles(rng, count):
    return [random_bits(rng, 11, 52) for _ in range(count)]


def tie_pairs_single(rng, count):
    """a + b that lands exactly halfway between two singles."""
    pairs = []
    for _ in range(count):
        a = f32(1.0 + rng.getrandbits(23) / 2.0 ** 23) | (rng.getrandbits(1) << 31)
        exponent = ((a >> 23) & 0xFF) - 24
        b = (rng.getrandbits(1) << 31) | (exponent << 23)
        pairs.append((boxed(a), boxed(b)))
    return pairs


def tie_pairs_double(rng, count):
    pairs = []
    for _ in range(count):
        a = f64(1.0 + rng.getrandbits(52) / 2.0 ** 52) | (rng.getrandbits(1) << 63)
        exponent = ((a >> 52) & 0x7FF) - 53
        b = (rng.getrandbits(1) << 63) | (exponent << 52)
        pairs.append((a, b))
    return pairs


INTEGERS = [
    0, 1, 2, 3, 0xFFFFFFFFFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF80000000, 0xFFFFFFFF, 0x100000000,
    0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0x1000001, 0x1000003, 0xFFFFFFFFFEFFFFFF, 0x20000000000001,
    0x20000000000003, 0x123456789ABCDEF0, 0xFEDCBA9876543210, 0x12345678FFFFFFFF, 0xDEADBEEF01000001,
    0x7FFFFFC0, 0x7FFFFFE0, 0xFFFFFF80, 0x7FFFFFFFFFFFFE00, 0x7FFFFFFFFFFFFC00, 0xFFFFFFFFFFFFF800,
]


def operand_sets():
    rng = random.Random(20240607)
    s_values = [boxed(v) for v in SINGLE_CORE + SINGLE_EXTRA] + UNBOXED + singles(rng, 80)
    d_values = DOUBLE_CORE + DOUBLE_EXTRA + doubles(rng, 80)
    s_core = [boxed(v) for v in SINGLE_CORE] + UNBOXED[:1]
    d_core = DOUBLE_CORE
    s_pairs = [(a, b) for a in s_core for b in s_core]
    s_pairs += list(zip(singles(rng, 200), singles(rng, 200))) + tie_pairs_single(rng, 40)
    d_pairs = [(a, b) for a in d_core for b in d_core]
    d_pairs += list(zip(doubles(rng, 200), doubles(rng, 200))) + tie_pairs_double(rng, 40)
    s_fma_core = [boxed(v) for v in [0, 0x80000000, f32(1.0), f32(-1.5), 0x00000001, 0x7F7FFFFF, 0x7F800000,
                                      0xFF800000, 0x7FC00000, 0x7F800001, f32(1.0) + 1]]
    d_fma_core = [0, 0x8000000000000000, f64(1.0), f64(-1.5), 1, 0x7FEFFFFFFFFFFFFF, 0x7FF0000000000000,
                  0xFFF0000000000000, 0x7FF8000000000000, 0x7FF0000000000001, f64(1.0) + 1]
    s_triples = [(a, b, c) for a in s_fma_core for b in s_fma_core for c in s_fma_core]
    s_triples += list(zip(singles(rng, 300), singles(rng, 300), singles(rng, 300)))
    # a * b + c where the product's low bits decide: (1 + x)(1 - x) - 1 and such.
    for _ in range(60):
        x = rng.getrandbits(23) | 1
        a = boxed(0x3F800000 | x)
        b = boxed(0x3F800000 | (rng.getrandbits(23)))
        c = boxed(0xBF800000 | (rng.getrandbits(4)))
        s_triples.append((a, b, c))
    d_triples = [(a, b, c) for a in d_fma_core for b in d_fma_core for c in d_fma_core]
    d_triples += list(zip(doubles(rng, 300), doubles(rng, 300), doubles(rng, 300)))
    for _ in range(60):
        a = 0x3FF0000000000000 | rng.getrandbits(52)
        b = 0x3FF0000000000000 | rng.getrandbits(52)
        c = 0xBFF0000000000000 | rng.getrandbits(6)
        d_triples.append((a, b, c))
    integers = INTEGERS + [rng.getrandbits(64) >> rng.randint(0, 63) for _ in range(60)]
    integers += [(-v) & 0xFFFFFFFFFFFFFFFF for v in integers[:20]]
    return {
        "s1": [(v,) for v in s_values],
        "d1": [(v,) for v in d_values],
        "s2": s_pairs,
        "d2": d_pairs,
        "s3": s_triples,
        "d3": d_triples,
        "x1": [(v,) for v in integers],
        # Memory words for the loads and stores.
        "m1": [(v,) for v in [0, 0x3F800000, 0x123456789ABCDEF0, 0xFFFFFFFF7FC00001, 0xFFFFFFFFFFFFFFFF]],
        # Values for fcsr/frm/fflags writes.
        "c1": [(v,) for v in [0, 0x1F, 0xE0, 0xFF, 0x1FF, 0xFFFFFFFFFFFFFFFF, 0x25, 0x80]],
    }


# --- instruction variants ---------------------------------------------------

# (mnemonic, operand set, shape, takes rm). Shapes: "f" reads f operands and
# writes an f register; "fx" reads f operands and writes x; "xf" reads x
# and writes f.
INSTRUCTIONS = []
for fmt, suffix in (("s", "s"), ("d", "d")):
    INSTRUCTIONS += [
        (f"fadd.{suffix}", f"{fmt}2", "f", True),
        (f"fsub.{suffix}", f"{fmt}2", "f", True),
        (f"fmul.{suffix}", f"{fmt}2", "f", True),
        (f"fdiv.{suffix}", f"{fmt}2", "f", True),
        (f"fsqrt.{suffix}", f"{fmt}1", "f", True),
        (f"fmin.{suffix}", f"{fmt}2", "f", False),
        (f"fmax.{suffix}", f"{fmt}2", "f", False),
        (f"fsgnj.{suffix}", f"{fmt}2", "f", False),
        (f"fsgnjn.{suffix}", f"{fmt}2", "f", False),
        (f"fsgnjx.{suffix}", f"{fmt}2", "f", False),
        (f"fmadd.{suffix}", f"{fmt}3", "f", True),
        (f"fmsub.{suffix}", f"{fmt}3", "f", True),
        (f"fnmsub.{suffix}", f"{fmt}3", "f", True),
        (f"fnmadd.{suffix}", f"{fmt}3", "f", True),
        (f"feq.{suffix}", f"{fmt}2", "fx", False),
        (f"flt.{suffix}", f"{fmt}2", "fx", False),
        (f"fle.{suffix}", f"{fmt}2", "fx", False),
        (f"fclass.{suffix}", f"{fmt}1", "fx", False),
        (f"fcvt.w.{suffix}", f"{fmt}1", "fx", True),
        (f"fcvt.wu.{suffix}", f"{fmt}1", "fx", True),
        (f"fcvt.l.{suffix}", f"{fmt}1", "fx", True),
        (f"fcvt.lu.{suffix}", f"{fmt}1", "fx", True),
        (f"fcvt.{suffix}.l", "x1", "xf", True),
        (f"fcvt.{suffix}.lu", "x1", "xf", True),
    ]
INSTRUCTIONS += [
    ("fcvt.s.w", "x1", "xf", True),
    ("fcvt.s.wu", "x1", "xf", True),
    ("fcvt.d.w", "x1", "xf", False),   # exact: GNU as takes no rm
    ("fcvt.d.wu", "x1", "xf", False),
    ("fcvt.s.d", "d1", "f", True),
    ("fcvt.d.s", "s1", "f", False),
    ("fcvt.d.s", "d1", "f", False),   # raw 64-bit patterns: mostly unboxed singles
    ("fmv.x.w", "s1", "fx", False),
    ("fmv.x.w", "d1", "fx", False),   # ignores the box, sign-extends
    ("fmv.x.d", "d1", "fx", False),
    ("fmv.w.x", "x1", "xf", False),
    ("fmv.d.x", "x1", "xf", False),
]

# Hand-written routines: loads and stores (compressed ones too), and the
# floating-point CSRs. a0 points at the operand, a1 at the two result words.
SPECIAL = {
    "flw": ("m1", "flw ft3, 0(a0)\n  fsd ft3, 0(a1)"),
    "fld": ("m1", "fld ft3, 0(a0)\n  fsd ft3, 0(a1)"),
    "fsw": ("m1", "fld ft3, 0(a0)\n  sd zero, 0(a1)\n  fsw ft3, 0(a1)"),
    "fsd": ("m1", "fld ft3, 0(a0)\n  fsd ft3, 0(a1)"),
    "c.fld": ("m1", "mv a2, a0\n  c.fld fa0, 0(a2)\n  fsd fa0, 0(a1)"),
    "c.fsd": ("m1", "fld fa1, 0(a0)\n  mv a3, a1\n  c.fsd fa1, 0(a3)"),
    "c.fldsp": ("m1", "ld t0, 0(a0)\n  addi sp, sp, -16\n  sd t0, 8(sp)\n  c.fldsp ft7, 8(sp)\n"
                      "  addi sp, sp, 16\n  fsd ft7, 0(a1)"),
    "c.fsdsp": ("m1", "fld ft9, 0(a0)\n  addi sp, sp, -16\n  c.fsdsp ft9, 8(sp)\n  ld t0, 8(sp)\n"
                      "  addi sp, sp, 16\n  sd t0, 0(a1)"),
    "fcsr": ("c1", "ld t0, 0(a0)\n  csrw fcsr, t0\n  csrr t0, fcsr\n  sd t0, 0(a1)"),
    "frm": ("c1", "ld t0, 0(a0)\n  csrw frm, t0\n  csrr t0, fcsr\n  sd t0, 0(a1)\n  csrwi fcsr, 0"),
    "fflags": ("c1", "ld t0, 0(a0)\n  csrw fflags, t0\n  csrr t0, fcsr\n  sd t0, 0(a1)"),
}


def routine_body(mnemonic, shape, arity, rm):
    rm_suffix = f", {rm}" if rm else ""
    if shape == "xf":
        return [f"ld t0, 0(a0)", "csrw fflags, zero", f"{mnemonic} ft3, t0{rm_suffix}", "csrr t1, fflags",
                "fsd ft3, 0(a1)", "sd t1, 8(a1)"]
    loads = [f"fld ft{i}, {8 * i}(a0)" for i in range(arity)]
    sources = ", ".join(f"ft{i}" for i in range(arity))
    if shape == "f":
        return loads + ["csrw fflags, zero", f"{mnemonic} ft3, {sources}{rm_suffix}", "csrr t1, fflags",
                        "fsd ft3, 0(a1)", "sd t1, 8(a1)"]
    return loads + ["csrw fflags, zero", f"{mnemonic} t2, {sources}{rm_suffix}", "csrr t1, fflags",
                    "sd t2, 0(a1)", "sd t1, 8(a1)"]


def variants():
    """(label, routine symbol, assembly body lines, operand set, dynamic)."""
    out = []
    for index, (mnemonic, operands, shape, takes_rm) in enumerate(INSTRUCTIONS):
        arity = 1 if operands[1] == "1" else int(operands[1])
        modes = STATIC_MODES + ["dyn"] if takes_rm else [None]
        for mode in modes:
            symbol = f"case_{index}_{mode or 'none'}"
            label = f"{mnemonic} {operands} {mode or '-'}"
            out.append((label, symbol, routine_body(mnemonic, shape, arity, mode), operands, mode == "dyn"))
    for name, (operands, body) in SPECIAL.items():
        symbol = "special_" + name.replace(".", "_")
        out.append((name, symbol, body.split("\n"), operands, False))
    return out


def write_program(path):
    sets = operand_sets()
    lines = [
        "/* Generated by tests/fpu_cases.py: every F and D instruction over edge-case",
        " * operands in every rounding mode; one line per case: result bits, fflags. */",
        '#include "runtime.h"',
        "",
        "typedef void (*routine)(const unsigned long *in, unsigned long *out);",
        "struct group { const char *label; routine run; const unsigned long *operands; unsigned count; int dynamic; };",
        "",
    ]
    for name, cases in sets.items():
        lines.append(f"static const unsigned long operands_{name}[] = {{")
        for case in cases:
            padded = list(case) + [0] * (3 - len(case))
            lines.append("  " + ", ".join(f"0x{v:016x}ul" for v in padded) + ",")
        lines.append("};")
    asm = [".text", ".option norvc"]
    groups = []
    for label, symbol, body, operands, dynamic in variants():
        lines.append(f"void {symbol}(const unsigned long *in, unsigned long *out);")
        asm += [f".globl {symbol}", ".balign 4", f"{symbol}:"]
        if any(line.strip().startswith("c.") for line in body):
            asm.append(".option rvc")
        asm += ["  " + line.strip() for line in body] + ["  ret", ".option norvc"]
        groups.append(f'  {{"{label}", {symbol}, operands_{operands}, {len(sets[operands])}, {int(dynamic)}}},')
    lines.append("__asm__(")
    lines += [f'  "{line}\\n"' for line in asm]
    lines.append(");")
    lines.append("static const struct group groups[] = {")
    lines += groups
    lines.append("};")
    lines += [
        "",
        "/* FNV-1a over the result words. */",
        "static unsigned long mix(unsigned long hash, unsigned long word) {",
        "  for (int i = 0; i < 8; ++i) hash = (hash ^ ((word >> (8 * i)) & 0xff)) * 0x100000001b3ul;",
        "  return hash;",
        "}",
        "",
        "/* One line per group: its label, case count and a hash of every result",
        " * and fflags. With detail=N on the command line, group N prints each",
        " * case instead: operands, result, fflags. */",
        "int main(void) {",
        "  /* mstatus.FS = Initial: the F and D instructions become legal. */",
        '  __asm__ volatile("li t0, 1 << 13\\n csrs mstatus, t0" ::: "t0");',
        '  const uint64_t detail = arg_uint("detail", ~0ull);',
        "  for (unsigned g = 0; g < sizeof groups / sizeof groups[0]; ++g) {",
        "    if (detail != ~0ull && detail != g) continue;",
        "    unsigned long hash = 0xcbf29ce484222325ul;",
        "    for (unsigned i = 0; i < groups[g].count; ++i) {",
        "      unsigned long out[2] = {0, 0};",
        "      const unsigned long *in = groups[g].operands + 3 * i;",
        "      unsigned long frm = groups[g].dynamic ? i % 5 : 0;",
        '      __asm__ volatile("csrw frm, %0" :: "r"(frm));',
        "      groups[g].run(in, out);",
        "      hash = mix(mix(hash, out[0]), out[1]);",
        "      if (detail == g)",
        '        printf("%u: %lx %lx %lx frm %lu -> %lx %lx\\n", i, in[0], in[1], in[2], frm, out[0], out[1]);',
        "    }",
        '    printf("%u %s: %u cases, hash %lx\\n", g, groups[g].label, groups[g].count, hash);',
        "  }",
        '  printf("fpu cases done\\n");',
        "  return 0;",
        "}",
    ]
    with open(path, "w") as out:
        out.write("\n".join(lines) + "\n")
    return sum(len(sets[v[3]]) for v in variants())


if __name__ == "__main__":
    count = write_program(sys.argv[1])
    print(f"{count} cases", file=sys.stderr)
