# Shared by the e2e scripts, which start with
#     source "$(dirname "$0")/lib.bash"
# Reads the scripts' arguments (NETC SOURCE_DIR OUT_DIR) into netc, src and
# out, starts in a fresh OUT_DIR with a kernel cache of its own, and defines
# the checks the scripts share. Not a test itself: tests/CMakeLists.txt
# registers e2e/*.sh.
set -euo pipefail
netc=$1 src=$2 out=$3
rm -rf "$out" && mkdir -p "$out" && cd "$out"
export NETC_CACHE_DIR=$out/cache

fail() { echo "FAIL: $*"; exit 1; }

# The last accuracy (%) a train or eval log printed.
last_accuracy() { sed -n 's/.*accuracy \([0-9.]*\)%.*/\1/p' "$1" | tail -1; }

# accuracy_at_least LOG MIN [NAME]: the last accuracy LOG printed, set as
# $acc, printed, and at least MIN (NAME prefixes the messages).
accuracy_at_least() {
  acc=$(last_accuracy "$1")
  echo "${3:+$3 }held-out accuracy: $acc %"
  at_least "$acc" "$2" "${3:+$3 }accuracy $acc % < $2 %"
}

# eval_agrees LOG [SUFFIX] [NAME]: an eval LOG reports training's $acc
# (followed by SUFFIX, e.g. " (2000 examples)").
eval_agrees() {
  grep -q "accuracy $acc%${2:-}" "$1" || fail "eval of the ${3:+$3 }checkpoint disagrees with training"
}

# at_least VALUE MIN MESSAGE, at_most VALUE MAX MESSAGE: numeric checks
# (the values are decimals) that fail with MESSAGE.
at_least() { awk -v a="$1" -v t="$2" 'BEGIN { exit !(a >= t) }' || fail "$3"; }
at_most() { awk -v a="$1" -v t="$2" 'BEGIN { exit !(a <= t) }' || fail "$3"; }

# expect_error MESSAGE COMMAND...: COMMAND must fail and say MESSAGE.
expect_error() {
  local msg=$1; shift
  if "$@" > err.log 2>&1; then fail "$* succeeded"; fi
  grep -qF -- "$msg" err.log || { cat err.log; fail "$* did not say: $msg"; }
}
