#!/usr/bin/env bash
# Runs the real-browser tests (*.browser.test.ts) inside a private network namespace with a
# default route (see netns-run.sh). In CI (CI=true) anything missing fails the run; elsewhere the
# tests are skipped with a loud notice naming what to install.
set -uo pipefail
cd "$(dirname "$0")/.."
fail_or_skip() {
  if [[ ${CI:-} == true ]]; then
    echo "browser tests: $1 (required in CI)" >&2
    exit 1
  fi
  echo "" >&2
  echo "*** SKIPPING the browser tests: $1 ***" >&2
  echo "" >&2
  exit 0
}
command -v chromium >/dev/null || fail_or_skip "chromium is not installed: apt-get install chromium"
bash scripts/netns-run.sh true 2>/dev/null
[[ $? -eq 77 ]] && fail_or_skip "cannot create a network namespace (run as root with unshare and iproute2: apt-get install util-linux iproute2)"
exec bash scripts/netns-run.sh npx vitest run --config vitest.browser.config.ts "$@"
