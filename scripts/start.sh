#!/usr/bin/env bash
# npm start: set up, build the wasm module, then run the signaling server and the demo pages
# (js/cli.js serve; arguments pass through, e.g. `npm start -- --port 8080`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh wasm >/dev/null   # the server and pages need only dist/
exec node js/cli.js serve "$@"
