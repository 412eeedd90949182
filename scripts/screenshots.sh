#!/usr/bin/env bash
# Regenerates the README's pictures: runs `rollcall --demo` in an 80x24 tmux
# pane, walks the table, a bulk disable's preflight and run, and the audit
# view, and renders each capture (escape sequences included) as a PNG with
# scripts/ansi2png.py. The plain-text captures are kept beside them.
#
# Needs: tmux, python3 with Pillow (pip install pillow), DejaVu fonts.
# Usage: scripts/screenshots.sh [path/to/rollcall]   (default: a release build)
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${1:-target/release/rollcall}
if [ ! -x "$BIN" ]; then
  cargo build --release
fi
OUT=assets
SESSION="rollcall-shots-$$"
HOME_DIR=$(mktemp -d)
trap 'tmux kill-session -t "$SESSION" 2>/dev/null || true; rm -rf "$HOME_DIR"' EXIT

tmux new-session -d -s "$SESSION" -x 80 -y 24 \
  "env TERM=xterm-256color HOME='$HOME_DIR' XDG_DATA_HOME='$HOME_DIR' XDG_CONFIG_HOME='$HOME_DIR' \
   '$BIN' --demo --journal '$HOME_DIR/journal.jsonl'; sleep 5"

# Waits until the pane shows $1 (a grep -E pattern), at most 20 s.
wait_for() {
  for _ in $(seq 1 200); do
    if tmux capture-pane -t "$SESSION" -p | grep -Eq "$1"; then
      sleep 0.3
      return 0
    fi
    sleep 0.1
  done
  echo "screenshots: timed out waiting for: $1" >&2
  tmux capture-pane -t "$SESSION" -p >&2
  exit 1
}

# Captures the pane as $1.png (rendered) and $1.txt (plain text).
shot() {
  tmux capture-pane -t "$SESSION" -e -p > "$OUT/$1.ans"
  tmux capture-pane -t "$SESSION" -p > "$OUT/$1.txt"
  python3 scripts/ansi2png.py "$OUT/$1.ans" "$OUT/$1.png" --cols 80 --rows 24
  rm "$OUT/$1.ans"
  echo "wrote $OUT/$1.png"
}

keys() { tmux send-keys -t "$SESSION" "$@"; }

wait_for 'Org: '
sleep 1
shot membership-80x24

# A bulk disable of the locked accounts: preflight, then the run.
keys / && keys -l 'status:locked' && keys Enter
wait_for 'filter status:locked'
keys '*'
keys d
wait_for 'will change|Will change'
shot bulk-preflight-80x24
keys y
wait_for 'Done|done|finished|Results|results'
shot bulk-run-80x24
keys Escape
sleep 0.5
keys Escape
sleep 0.5

keys A
wait_for 'No recent login|Never logged in'
shot audit-80x24
keys Escape
sleep 0.5
keys q
