#!/usr/bin/env bash
# Native probes behind the WebAssembly thread figures (README "Benchmarks", issue 19): whether
# two threads of arithmetic run at once on this machine, and what a hand-off to a sleeping
# thread costs. Needs gcc; writes bench/results/<timestamp>-native.md.
#   bash bench/native/run.sh [--priority]   (--priority, root on Linux: autogroup nice -20)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
gcc -O2 -mavx2 -mfma -pthread "$here/fma.c" -o "$out/fma"
gcc -O2 -pthread "$here/wake.c" -o "$out/wake"
prio=no
if [ "${1:-}" = "--priority" ]; then echo -20 > /proc/self/autogroup; prio="yes (autogroup nice -20)"; fi
stamp="$(date -u +%Y-%m-%dT%H-%M-%SZ)"
file="$here/../results/$stamp-native.md"
{
  echo "# Native thread probes ($stamp)"
  echo
  echo "Machine: $(nproc) × $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); load average $(cut -d' ' -f1-3 /proc/loadavg) at the start; priority: $prio."
  echo
  echo '## Two threads of AVX2 arithmetic (fma.c): total GFLOP/s, alternating'
  echo
  for i in 1 2 3; do
    echo "- $("$out/fma" 1 400000000); $("$out/fma" 2 400000000)"
  done
  echo
  echo '## Hand-off round trip to a worker thread (wake.c), µs'
  echo
  echo '| caller busy before each hand-off | worker sleeps at once | worker spins 100,000 iterations first |'
  echo '|---|---|---|'
  for g in 0 100 500; do
    a="$("$out/wake" "$g" 0 | sed 's/.*round trip \([0-9.]*\) us/\1/')"
    b="$("$out/wake" "$g" 100000 | sed 's/.*round trip \([0-9.]*\) us/\1/')"
    echo "| $g µs | $a | $b |"
  done
  echo
  echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
} | tee "$file"
echo "wrote $file"
