#!/usr/bin/env bash
# npm start: set up, build, then run the signaling server and demo pages (js/cli.js serve).
# Until the server lands, runs the engine demo (js/demo.js) instead.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh >/dev/null
if [ -f js/cli.js ]; then
  exec node js/cli.js serve "$@"
fi
exec node js/demo.js "$@"
