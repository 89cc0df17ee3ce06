#!/bin/sh
# Run a fuzzer with its seeds: fuzz_parse on the conformance corpus (copied at run time, so the
# seeds are not kept twice in the repository), fuzz_imap on seeds/imap (server transcripts)
# with imap.dict, fuzz_http on seeds/http (requests cut into fields at 0x1E) with http.dict.
#   run_fuzz.sh FUZZER SECONDS [WORKDIR] [extra libFuzzer flags...]
# WORKDIR/corpus collects the inputs the fuzzer finds; WORKDIR/artifacts its crashes.
set -eu
fuzzer=$(realpath "$1"); seconds=$2; work=${3:-fuzz-work}
shift 2; [ $# -gt 0 ] && shift
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"; work=$(realpath "$work")
cd "$work"  # with -jobs=N libFuzzer writes fuzz-N.log into the current directory
mkdir -p "$work/seeds" "$work/corpus" "$work/artifacts"
case $(basename "$fuzzer") in
  fuzz_imap*)
    cp "$here"/seeds/imap/* "$work/seeds/"
    set -- -dict="$here/imap.dict" "$@"
    ;;
  fuzz_http*)
    cp "$here"/seeds/http/* "$work/seeds/"
    set -- -dict="$here/http.dict" "$@"
    ;;
  *)
    for f in "$here"/../corpus/mail-parser/*/*.eml; do
      d=$(basename "$(dirname "$f")")
      cp "$f" "$work/seeds/$d-$(basename "$f")"
    done
    ;;
esac
exec "$fuzzer" -max_total_time="$seconds" -max_len=200000 -rss_limit_mb=2048 -timeout=30 \
  -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$@" "$work/corpus" "$work/seeds"
