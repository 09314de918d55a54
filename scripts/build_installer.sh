#!/usr/bin/env bash
# Build the one-folder desktop bundle (dist/mura-triage/) from a clean virtual environment, then check
# the frozen executables with no Python on PATH: --version, self-test, the window offscreen, and one
# training epoch on a tiny phantom set. Figures go to build/installer-result.json (see docs/installer.md).
#
#   scripts/build_installer.sh [--reuse-venv] [--archive]
#
#   --reuse-venv  keep build/installer-venv if it exists (faster rebuilds while working on the spec)
#   --archive     also pack dist/mura-triage-<version>-linux-<arch>.tar.gz with a .desktop file
#
# Environment: PYTHON (interpreter to create the venv with, default python3), TORCH_INDEX_URL (an index
# to take torch/torchvision from, e.g. PyTorch's CPU-only wheels for a smaller bundle; default: the
# configured index, which on Linux gives the CUDA build).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
reuse_venv=0
archive=0
for arg in "$@"; do
  case "$arg" in
    --reuse-venv) reuse_venv=1 ;;
    --archive) archive=1 ;;
    *) echo "usage: $0 [--reuse-venv] [--archive]" >&2; exit 2 ;;
  esac
done

venv="$root/build/installer-venv"
result="$root/build/installer-result.json"
mkdir -p "$root/build"
started=$(date +%s)

# -- 1. a clean virtual environment with the app and PyInstaller -----------------------------------------
if [[ $reuse_venv -eq 0 || ! -x "$venv/bin/python" ]]; then
  rm -rf "$venv"
  "${PYTHON:-python3}" -m venv "$venv"
  if [[ -n "${TORCH_INDEX_URL:-}" ]]; then
    "$venv/bin/python" -m pip install -q --index-url "$TORCH_INDEX_URL" torch torchvision
  fi
  "$venv/bin/python" -m pip install -q "$root" "pyinstaller>=6.10" "pyinstaller-hooks-contrib>=2024.8"
fi
venv_done=$(date +%s)

# -- 2. freeze -----------------------------------------------------------------------------------------
rm -rf "$root/dist/mura-triage"
"$venv/bin/python" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$root/dist" --workpath "$root/build/pyinstaller" "$root/triage.spec"
built=$(date +%s)
bundle="$root/dist/mura-triage"
exe="$bundle/mura-triage"
bundle_bytes=$(du -sb "$bundle" | cut -f1)
echo "built $bundle: $((bundle_bytes / 1024 / 1024)) MiB in $((built - venv_done)) s"

# -- 3. the frozen checks, with no Python anywhere on PATH ------------------------------------------------
check_dir=$(mktemp -d)
trap 'rm -rf "$check_dir"' EXIT
mkdir -p "$check_dir/empty-bin" "$check_dir/user"
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
frozen() {  # run the frozen executable in an empty environment: no PATH entries, no Python variables
  env -i PATH="$check_dir/empty-bin" HOME="$check_dir/user" LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen \
    MURA_TRIAGE_HOME="$check_dir/home" "$@"
}
if frozen /bin/sh -c 'command -v python3 || command -v python' >/dev/null 2>&1; then  # sh by path: PATH is empty
  echo "a Python is reachable on the check PATH" >&2; exit 1
fi

version=$(frozen "$exe" --version)
echo "frozen --version: $version"

t0=$(date +%s.%N)
frozen "$exe" self-test --json >"$check_dir/self-test.json"
t1=$(date +%s.%N)
self_test_seconds=$(elapsed "$t0" "$t1")
echo "frozen self-test passed in ${self_test_seconds} s"

t0=$(date +%s.%N)
frozen "$exe" --home "$check_dir/window-home" --quit-after 3
t1=$(date +%s.%N)
window_seconds=$(elapsed "$t0" "$t1")
echo "frozen window opened offscreen and closed after 3 s (${window_seconds} s in all)"

frozen "$exe" phantoms --format mura --out "$check_dir/phantoms" --studies 20 --seed 1 >/dev/null 2>&1
t0=$(date +%s.%N)
frozen "$exe" train --data "$check_dir/phantoms" --out "$check_dir/run" --init none --epochs 1 \
  --image-size 64 --batch-size 4 --workers 1 --no-progress >"$check_dir/train.log" 2>&1 \
  || { cat "$check_dir/train.log" >&2; exit 1; }
t1=$(date +%s.%N)
train_seconds=$(elapsed "$t0" "$t1")
test -s "$check_dir/run/best.ckpt" && test -s "$check_dir/run/report.json"
frozen "$exe" evaluate --data "$check_dir/phantoms" --checkpoint "$check_dir/run/best.ckpt" --json \
  >"$check_dir/evaluate.json"
echo "frozen train (1 epoch, 64 px, tiny phantom set) and evaluate: ${train_seconds} s"

# -- 4. the record ----------------------------------------------------------------------------------------
finished=$(date +%s)
"$venv/bin/python" - "$result" "$check_dir/self-test.json" <<EOF
import json, platform, sys
self_test = json.load(open(sys.argv[2]))
record = {
    "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
    "version": "$version",
    "platform": f"{platform.system()} {platform.machine()}",
    "venv_seconds": $((venv_done - started)),
    "build_seconds": $((built - venv_done)),
    "total_seconds": $((finished - started)),
    "bundle_bytes": $bundle_bytes,
    "bundle_mib": round($bundle_bytes / 2**20),
    "self_test_seconds": round($self_test_seconds, 1),
    "self_test_steps": {s["name"]: s["detail"] for s in self_test["steps"]},
    "window_seconds": round($window_seconds, 1),
    "train_one_epoch_seconds": round($train_seconds, 1),
}
json.dump(record, open(sys.argv[1], "w"), indent=2)
print(json.dumps(record, indent=2))
EOF

# -- 5. optional archive with a desktop entry -------------------------------------------------------------
if [[ $archive -eq 1 ]]; then
  name="mura-triage-$(echo "$version" | awk '{print $2}')-linux-$(uname -m)"
  cp "$root/resources/icon.png" "$bundle/mura-triage.png"
  sed "s|@VERSION@|$(echo "$version" | awk '{print $2}')|" "$root/scripts/mura-triage.desktop.in" \
    >"$bundle/mura-triage.desktop"
  tar -C "$root/dist" -czf "$root/dist/$name.tar.gz" mura-triage
  echo "archive: dist/$name.tar.gz ($(du -h "$root/dist/$name.tar.gz" | cut -f1))"
fi
