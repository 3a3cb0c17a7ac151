// Sizes of what a page loads for rooms, two ways (gzip -9 both):
//   files     each file as our server sends it (unminified sources, no bundler): dist/roomsync.wasm,
//             dist/roomsync.mjs, js/index.js, js/load-module.js, js/signaling.js, js/room/*.js;
//             phoenix.mjs (the signaling client's dependency) apart
//   shipped   what an app ships: an esbuild bundle (minified, ESM, platform browser, phoenix
//             bundled in) of an entry that imports { createDoc, joinRoom } from js/index.js, plus
//             dist/roomsync.wasm. The wasm is fetched at run time (new URL('roomsync.wasm',
//             import.meta.url) in the Emscripten glue), so it is never inside the bundle.
// The target (< 150 KB, wasm + glue) is compared with `shipped`.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { REPO } from '../traces.js';

const gz9 = (bytes) => gzipSync(bytes, { level: 9 }).length;
export const ENTRY = "export { createDoc, joinRoom } from './js/index.js';";

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

/** The minified bundle + the wasm; { error } when esbuild or a file is missing. */
export async function shippedSize() {
  const wasmPath = path.join(REPO, 'dist/roomsync.wasm');
  if (!existsSync(wasmPath)) return { error: 'dist/roomsync.wasm is missing (scripts/build.sh wasm)' };
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch (e) {
    return { error: `esbuild cannot be loaded: ${e.message}` };
  }
  let r;
  try {
    r = await esbuild.build({
      stdin: { contents: ENTRY, resolveDir: REPO, loader: 'js' },
      bundle: true, minify: true, format: 'esm', platform: 'browser', write: false, logLevel: 'silent',
      external: ['*.wasm'],
    });
  } catch (e) {
    return { error: `esbuild failed: ${String(e.message).split('\n')[0]}` };
  }
  const js = r.outputFiles[0].contents;
  const wasm = readFileSync(wasmPath);
  const out = {
    esbuild: esbuild.version,
    js: { raw: js.length, gzip9: gz9(js) },
    wasm: { raw: wasm.length, gzip9: gz9(wasm) },
    phoenixBundled: Buffer.from(js).includes('phx_join'), // a string only phoenix has
  };
  out.totalGzip9 = out.js.gzip9 + out.wasm.gzip9;
  return out;
}
