#!/usr/bin/env bash
# Installs what godwit needs, builds it, and boots each bundled guest to show
# the machine at work: a greeting, four harts sharing counters, timer
# interrupts, the `ab` page-dirtying workload, and interrupt-driven input.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh release

godwit=build/release/godwit
guests=build/release/guests
run() {
  echo
  echo "\$ godwit $*"
  "$godwit" "$@"
}
common=(-M virt -bios none -nographic)

run "${common[@]}" -kernel "$guests/hello.elf" </dev/null
run "${common[@]}" -smp 4 -kernel "$guests/smp.elf" </dev/null
run "${common[@]}" -kernel "$guests/timer.elf" -append "count=3" </dev/null
echo
echo "\$ printf 'hello godwit\\nquit\\n' | godwit ${common[*]} -kernel $guests/echo.elf"
printf 'hello godwit\nquit\n' | "$godwit" "${common[@]}" -kernel "$guests/echo.elf"

echo
echo "\$ godwit ${common[*]} -smp 2 -m 256M -kernel $guests/ab.elf   (runs for 3 s)"
"$godwit" "${common[@]}" -smp 2 -m 256M -kernel "$guests/ab.elf" </dev/null &
pid=$!
sleep 3
kill -TERM "$pid"
wait "$pid" || true
echo
echo "demo finished"
