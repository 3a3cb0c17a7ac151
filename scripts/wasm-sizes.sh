#!/usr/bin/env bash
# Measures the wasm build under each optimisation choice: .wasm and .mjs sizes (raw and gzip -9)
# and the time to replay the automerge-paper trace through the JS API (best of 3).
# Usage: scripts/wasm-sizes.sh ["-O2" "-O3 -flto" ...]   (default: -O2/-O3/-Os/-Oz, each with and without -flto)
# Builds go to build-wasm-sizes/ (git-ignored); dist/ is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(-O2 -O3 -Os -Oz "-O2 -flto" "-O3 -flto" "-Os -flto" "-Oz -flto")
traces=${ROOMSYNC_TRACES:-../shared/traces}
printf '%-12s %16s %16s %10s %s\n' config "wasm raw/gz" "mjs raw/gz" "total gz" "automerge-paper replay"
for cfg in "${configs[@]}"; do
  out=build-wasm-sizes/${cfg// /}
  mkdir -p "$out/js"
  { emcmake cmake -S . -B "$out/build" -DCMAKE_BUILD_TYPE=Release -DROOMSYNC_WASM_FLAGS="$cfg" \
      -DROOMSYNC_DIST_DIR="$PWD/$out/dist" &&
    cmake --build "$out/build" -j "$(nproc)"; } >"$out/build.log" 2>&1 \
    || { tail -n 30 "$out/build.log"; echo "wasm-sizes.sh: $cfg failed (log: $out/build.log)" >&2; exit 1; }
  cp js/index.js js/load-module.js "$out/js/"
  w=$out/dist/roomsync.wasm m=$out/dist/roomsync.mjs
  wg=$(gzip -9c "$w" | wc -c) mg=$(gzip -9c "$m" | wc -c)
  speed="(no traces)"
  if [ -f "$traces/automerge-paper.json.gz" ]; then
    speed=$(node --input-type=module -e "
      import { readFileSync } from 'node:fs'; import { gunzipSync } from 'node:zlib';
      const { createDoc } = await import('$PWD/$out/js/index.js');
      const trace = JSON.parse(gunzipSync(readFileSync('$traces/automerge-paper.json.gz')));
      let best = Infinity;
      for (let r = 0; r < 3; r++) {
        const doc = await createDoc({ clientId: 1 }); const t = doc.getText('t');
        const t0 = performance.now();
        for (const { patches } of trace.txns) for (const [p, d, s] of patches) { if (d) t.delete(p, d); if (s) t.insert(p, s); }
        best = Math.min(best, performance.now() - t0); doc.destroy();
      }
      console.log(best.toFixed(0) + ' ms');")
  fi
  printf '%-12s %16s %16s %10s %s\n' "$cfg" "$(stat -c %s "$w")/$wg" "$(stat -c %s "$m")/$mg" $((wg + mg)) "$speed"
done
