#!/usr/bin/env bash
# The dashboard in a real headless browser (issue 7 §4): installs Debian's `chromium` when it is
# missing, then runs the binary test `tests/dashboard_browser.rs`, which starts
# `tradebot dashboard` on fixture data, loads the page with chromium --headless (--dump-dom and
# --screenshot), asserts on what it shows and saves target/tmp/dashboard-browser/dashboard.png.
#
#   bash tests/browser/dashboard.sh            # profile ci, as CI
#   PROFILE=dev bash tests/browser/dashboard.sh
#   bash tests/browser/dashboard.sh --install-only   # only make sure chromium is there (.ci/run)
#
# Without chromium the same test skips (saying why), so `cargo test --workspace` never needs it.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v chromium >/dev/null 2>&1 && [ -z "${TRADEBOT_CHROMIUM:-}" ]; then
    echo "chromium not found: installing Debian's chromium package"
    sudo_cmd=()
    if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq chromium
fi

if [ "${1:-}" = --install-only ]; then exit 0; fi

profile=(--profile ci)
if [ "${PROFILE:-ci}" = dev ]; then profile=(); fi
TRADEBOT_REQUIRE_CHROMIUM=1 cargo test "${profile[@]}" --test dashboard_browser -- --nocapture
