#!/usr/bin/env bash
# Every benchmark in a row, output kept in bench/results/run-<time>.txt (about 17 minutes).
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
out="bench/results/run-$(date +%Y%m%d-%H%M%S).txt"
run() { echo "\$ python -m $*" | tee -a "$out"; python3 -m "$@" 2>&1 | tee -a "$out"; echo | tee -a "$out"; }
run bench.auth_qps --rounds 5 --seconds 10
run bench.auth_qps --rounds 5 --seconds 10 --tcp
run bench.latency_curve --out bench/results/latency.png
run bench.random_names --rounds 3 --seconds 5
run bench.routed_qps --rounds 4 --seconds 10
run bench.auth_qps --rounds 3 --seconds 5 --ecs
run bench.routed_qps --rounds 3 --seconds 5 --ecs
run bench.recursion_qps --rounds 4 --seconds 10
run bench.load_1m
run bench.udp_loops --rounds 2 --seconds 5
echo "results: $out"
