// Memory probe, run by run.js in a fresh process: node --expose-gc memchild.js <lib> <file> [count]
// Loads the encoded document from <file> with the adapter's load+read+edit path (count times,
// default 1, all kept alive: several documents in one page share the module memory) and prints
// process.memoryUsage() at three points as JSON on stdout:
//   bare  - fresh Node process, nothing imported
//   base  - library imported and initialised (an empty doc created and dropped)
//   after - the loaded document is alive and its text has been read
// heapUsed + external covers both JS-heap engines and WASM engines (a WebAssembly.Memory
// counts in `external`; arrayBuffers is a subset of external). WASM linear memory never
// shrinks, so any peak during load stays counted: that is what the process really holds.
import { readFileSync } from 'node:fs';

const settle = async () => {
  for (let i = 0; i < 4; i++) {
    globalThis.gc();
    await new Promise((r) => setImmediate(r));
  }
};
const snap = () => {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
};

const [lib, file, countArg] = process.argv.slice(2);
const count = Math.max(1, Number(countArg ?? 1));
await settle();
const bare = snap();
const A = await import(`./adapters/${lib}.js`);
await A.init();
await A.warm();
const bytes = new Uint8Array(readFileSync(file));
await settle();
const base = snap();
const t0 = performance.now();
const docs = [];
for (let i = 0; i < count; i++) docs.push(await A.loadReadEdit(bytes));
const r = docs[0];
const ms = performance.now() - t0;
await settle();
const after = snap();
globalThis.keepAlive = docs; // the documents stay alive past the measurement
const stats = A.textStats ? A.textStats(r.doc) : {}; // { runs, docBytes? } (memory per run)
process.stdout.write(JSON.stringify({ lib, count, bare, base, after, textLength: r.text.length, loadMs: ms, ...stats }) + '\n');
