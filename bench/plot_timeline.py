#!/usr/bin/env python3
"""Draws migration timelines (JSON from migration_bench.py --timeline-dir or
migrate_demo.py --timeline) as an SVG: bandwidth (QEMU's mbps field and the
rate seen from successive `transferred` values) and dirty rate in MiB/s on the
left axis, remaining bytes in MiB on the right, a vertical mark at each new
pass (dirty-sync-count increment, or MIGRATION_PASS event when recorded), and
the downtime shaded at the end. Several timelines are overlaid on shared axes
(first solid, second dashed), e.g. godwit against QEMU:

    python3 bench/plot_timeline.py godwit-256M-ws64M-bw128MiB.json \\
        qemu-256M-ws64M-bw128MiB.json -o compare.svg

The SVG is parsed with xml.etree before it is written.
"""
import argparse
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import timeline  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("timelines", nargs="*", type=pathlib.Path, help="timeline JSON files (one or more)")
    parser.add_argument("-o", "--output", type=pathlib.Path,
                        help="SVG to write (default: the first JSON's name with .svg)")
    parser.add_argument("--title", help="title (default: machines and configuration)")
    parser.add_argument("--width", type=int, default=1000)
    parser.add_argument("--height", type=int, default=560)
    parser.add_argument("--no-observed", action="store_true",
                        help="leave out the bandwidth computed from successive transferred values")
    parser.add_argument("--self-check", action="store_true",
                        help="draw synthetic timelines and check the SVG is well-formed, then exit")
    args = parser.parse_args()
    if args.self_check:
        timeline.self_check()
        return 0
    if not args.timelines:
        parser.error("give at least one timeline JSON")
    try:
        documents = [timeline.load_timeline(path) for path in args.timelines]
    except (OSError, ValueError, timeline.BenchError) as error:
        sys.exit(f"plot_timeline: {error}")
    output = args.output or args.timelines[0].with_suffix(".svg")
    timeline.write_svg(output, documents, title=args.title, width=args.width, height=args.height,
                       observed=not args.no_observed)
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
