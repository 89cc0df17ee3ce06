#!/bin/sh
# Run the parser fuzzer, seeded with the conformance corpus (copied at run time, so the
# seeds are not kept twice in the repository).
#   run_fuzz.sh FUZZER SECONDS [WORKDIR] [extra libFuzzer flags...]
# WORKDIR/corpus collects the inputs the fuzzer finds; WORKDIR/artifacts its crashes.
set -eu
fuzzer=$(realpath "$1"); seconds=$2; work=${3:-fuzz-work}
shift 2; [ $# -gt 0 ] && shift
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"; work=$(realpath "$work")
cd "$work"  # with -jobs=N libFuzzer writes fuzz-N.log into the current directory
seeds_from=$here/../corpus/mail-parser
mkdir -p "$work/seeds" "$work/corpus" "$work/artifacts"
for f in "$seeds_from"/*/*.eml; do
  d=$(basename "$(dirname "$f")")
  cp "$f" "$work/seeds/$d-$(basename "$f")"
done
exec "$fuzzer" -max_total_time="$seconds" -max_len=200000 -rss_limit_mb=2048 -timeout=30 \
  -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$@" "$work/corpus" "$work/seeds"
