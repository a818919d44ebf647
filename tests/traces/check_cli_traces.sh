#!/bin/sh
# End to end through the CLI: `cardsim run MODEL` with every trace flag, then each output opened
# by a real consumer: speedscope's importer (node), vcd2fst (GTKWave), `cardsim dram-replay`,
# report_validate. usage: check_cli_traces.sh CARDSIM REPORT_VALIDATE MODEL DETAIL MAX_TRACE_BYTES [cardsim run args...]
set -eu
cardsim=$1; validate=$2; model=$3; detail=$4; max_bytes=$5; shift 5
here=$(cd "$(dirname "$0")" && pwd)
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
"$cardsim" run "$model" -q --mode timing "$@" --report "$d/r.json" \
  --trace "$d/t.json" --trace-detail "$detail" --vcd "$d/t.vcd" --dram-trace "$d/d.trace" --dram-trace-format dramsim3
"$validate" "$d/r.json"
size=$(wc -c < "$d/t.json")
echo "trace: $size bytes ($detail detail), limit $max_bytes"
test "$size" -lt "$max_bytes"
node "$here/speedscope_import.js" "$d/t.json" | cut -c1-400
vcd2fst "$d/t.vcd" "$d/t.fst" > /dev/null
test -s "$d/t.fst"
test -s "$d/d.trace"
"$cardsim" dram-replay "$d/d.trace" -c default --format dramsim3
