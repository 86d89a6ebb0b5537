#!/usr/bin/env bash
# The research report in a real headless browser (issue 22): installs Debian's `chromium` when
# it is missing (tests/browser/dashboard.sh --install-only), then runs tests/report_browser.rs,
# which runs a small research, lays the report out at 1,400 and 400 px, checks overflow, axis
# labels and weight, and saves screenshots under target/tmp/report-browser/.
#
#   bash tests/browser/report.sh            # profile ci, as CI
#   PROFILE=dev bash tests/browser/report.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

bash tests/browser/dashboard.sh --install-only

profile=(--profile ci)
if [ "${PROFILE:-ci}" = dev ]; then profile=(); fi
TRADEBOT_REQUIRE_CHROMIUM=1 cargo test "${profile[@]}" --test report_browser -- --nocapture
