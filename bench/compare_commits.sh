#!/usr/bin/env bash
# Verify throughput of two commits on the same machine in the same run (issue 15: "a ratio no
# lower than before"). Each commit is checked out in bench/out/commits/<commit>, served from
# there with this checkout's venv (PYTHONPATH points at the commit), and measured by its own
# bench/verify_http.py against its own bare endpoint, the commits taking turns ROUNDS times so
# that the machine's drift falls on both alike.
#
#     bench/compare_commits.sh 238cd07 8e3feed [ROUNDS=3] [ARGS="--sizes 1000 100000 ..."]
#
# Prints one line per run: commit, round, and verify_http.json's ratio to bare for each size.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=$ROOT/.venv/bin/python
ROUNDS=${ROUNDS:-3}
ARGS=${ARGS:---sizes 1000 100000 --seconds 5 --rounds 1}
mkdir -p bench/out/commits
for commit in "$@"; do
  dir=bench/out/commits/$commit
  [ -d "$dir" ] || git worktree add -q --detach "$dir" "$commit"
done
for round in $(seq 1 "$ROUNDS"); do
  for commit in "$@"; do
    dir=$ROOT/bench/out/commits/$commit
    (cd "$dir" && PYTHONPATH=$dir "$PY" bench/verify_http.py $ARGS >/dev/null)
    "$PY" - "$commit" "$round" "$dir/bench/out/verify_http.json" <<'PY'
import json, sys
commit, round_, path = sys.argv[1:]
result = json.load(open(path))
bare = result["bare"]["rps"]
sizes = sorted((k for k in result if k.startswith("verify_")), key=lambda k: int(k[7:]))
cells = " ".join(f"{k[7:]}:{result[k]['rps']:.0f}/{bare:.0f}={result[k]['rps'] / bare:.3f}" for k in sizes)
print(f"{commit} round {round_} {cells}", flush=True)
PY
  done
done
