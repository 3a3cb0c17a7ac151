// Sizes of what a page loads for rooms, two ways (gzip -9 both):
//   files     each file as our server sends it (unminified sources, no bundler): dist/roomsync.wasm,
//             dist/roomsync.mjs, js/index.js, js/load-module.js, js/signaling.js, js/room/*.js;
//             phoenix.mjs (the signaling client's dependency) apart
//   shipped   what a page ships: dist/roomsync.browser.js, the browser bundle scripts/build.sh
//             makes (esbuild of js/browser.js: minified, ESM, phoenix bundled in), plus
//             dist/roomsync.wasm, which the bundle fetches beside itself at run time.
// The target (< 150 KB, wasm + glue) is compared with `shipped`.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { REPO } from '../traces.js';

const gz9 = (bytes) => gzipSync(bytes, { level: 9 }).length;
export const SHIPPED_JS = 'dist/roomsync.browser.js';

export function fileSizes() {
  const files = ['dist/roomsync.wasm', 'dist/roomsync.mjs', 'js/index.js', 'js/load-module.js', 'js/signaling.js'];
  const roomDir = path.join(REPO, 'js/room');
  if (existsSync(roomDir)) for (const f of readdirSync(roomDir).sort()) if (f.endsWith('.js')) files.push(`js/room/${f}`);
  const out = { files: [], missing: [] };
  for (const f of files) {
    const p = path.join(REPO, f);
    if (!existsSync(p)) { out.missing.push(f); continue; }
    const b = readFileSync(p);
    out.files.push({ file: f, raw: b.length, gzip9: gz9(b) });
  }
  out.totalGzip9 = out.files.reduce((n, f) => n + f.gzip9, 0);
  out.totalRaw = out.files.reduce((n, f) => n + f.raw, 0);
  const phoenix = path.join(REPO, 'node_modules/phoenix/priv/static/phoenix.mjs');
  if (existsSync(phoenix)) { const b = readFileSync(phoenix); out.phoenix = { file: 'phoenix.mjs', raw: b.length, gzip9: gz9(b) }; }
  return out;
}

/** The browser bundle + the wasm, as scripts/build.sh wasm leaves them; { error } when one is missing. */
export async function shippedSize() {
  const jsPath = path.join(REPO, SHIPPED_JS);
  const wasmPath = path.join(REPO, 'dist/roomsync.wasm');
  for (const p of [jsPath, wasmPath]) if (!existsSync(p)) return { error: `${path.relative(REPO, p)} is missing (scripts/build.sh wasm)` };
  const js = readFileSync(jsPath);
  const wasm = readFileSync(wasmPath);
  const out = {
    file: SHIPPED_JS,
    js: { raw: js.length, gzip9: gz9(js) },
    wasm: { raw: wasm.length, gzip9: gz9(wasm) },
    phoenixBundled: js.includes('phx_join'), // a string only phoenix has
  };
  out.totalGzip9 = out.js.gzip9 + out.wasm.gzip9;
  return out;
}
