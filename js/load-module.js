// Loads the roomsync WebAssembly module once per process/page and caches it.
//
// Browsers and bundlers: Emscripten's glue fetches roomsync.wasm next to roomsync.mjs
// (`new URL('roomsync.wasm', import.meta.url)`, a pattern Vite/webpack/esbuild understand).
// Node.js: the glue is built for web/worker only (its Node branch does not work as ESM in
// Emscripten 3.1.6), so we read the bytes ourselves and hand them over as `wasmBinary`.
import createRoomsyncModule from '../dist/roomsync.mjs';

const isNode = typeof process === 'object' && process.versions != null && process.versions.node != null &&
  typeof window === 'undefined';

let modulePromise = null;

/** Resolves to the instantiated Emscripten module (the same one for every caller). */
export function loadModule() {
  if (!modulePromise) {
    modulePromise = instantiate().catch((err) => {
      modulePromise = null; // let a later call retry (e.g. after a network error)
      throw err;
    });
  }
  return modulePromise;
}

async function instantiate() {
  const options = {};
  // Labelled `nodeOnly`: the browser bundle (scripts/build.sh, esbuild --drop-labels=nodeOnly)
  // leaves this branch out; there the glue fetches roomsync.wasm beside the bundle.
  nodeOnly: if (isNode) {
    // A computed specifier keeps bundlers from trying to pack a Node built-in for the browser.
    const fsModule = 'node:fs/promises';
    const { readFile } = await import(/* webpackIgnore: true */ /* @vite-ignore */ fsModule);
    options.wasmBinary = await readFile(new URL('../dist/roomsync.wasm', import.meta.url));
  }
  return createRoomsyncModule(options);
}
