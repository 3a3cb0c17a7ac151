#!/usr/bin/env node
// Removes the unused functions from Emscripten's glue (dist/roomsync.mjs) after the link.
//
// Usage: node scripts/glue-dce.mjs <glue.mjs> <emscripten root>   (CMakeLists.txt runs it)
//
// At -O2 (our link level: -Os/-O3 make the .wasm bigger) emcc leaves runtime helpers nothing
// calls in the glue (ccall, addFunction's wasm generator, stack traces, ...), and neither emcc
// nor esbuild removes them later: after MODULARIZE they sit inside the factory function. This
// runs the pass emcc runs at -Os/-O3 (AJSDCE of its own acorn-optimizer.js, then whitespace
// minification) over the whole factory. The optimizer parses scripts, not modules: the two
// module-only bits (import.meta.url, the default export) are set aside and put back.
// It also drops the glue's Module._rs_* wrapper of each rs_* export: js/index.js and
// js/room/core.js call those on Module.asm by name (the DCE keeps the wrappers because they
// assign to Module). Only wrappers whose export kept its name go, so a build that minifies
// export names keeps them for the Module._rs_* fallback there.
// Issue 8 (size): bundle -946 B gzip (DCE), -1,023 B (wrappers).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [glue, emscripten] = process.argv.slice(2);
if (!glue || !emscripten) {
  console.error('usage: node scripts/glue-dce.mjs <glue.mjs> <emscripten root>');
  process.exit(2);
}
const META = 'import.meta.url';
const HOLDER = '__roomsync_import_meta_url__';
const EXPORT = /\nexport default (\w+);\s*$/;
// var _rs_x=Module["_rs_x"]=function(){return(_rs_x=Module["_rs_x"]=Module["asm"]["rs_x"]).apply(null,arguments)};
const WRAPPER = /var _(rs_\w+)=Module\["_\1"\]=function\(\)\{return\(_\1=Module\["_\1"\]=Module\["asm"\]\["\1"\]\)\.apply\(null,arguments\)\};/g;

const src = readFileSync(glue, 'utf8');
const exported = EXPORT.exec(src);
if (!exported || !src.includes(META) || src.includes(HOLDER)) {
  console.error(`glue-dce: ${glue} is not the glue this script knows (MODULARIZE + EXPORT_ES6)`);
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), 'roomsync-glue-'));
try {
  const script = join(dir, 'glue.js');
  writeFileSync(script, src.slice(0, exported.index).replaceAll(META, HOLDER));
  const out = execFileSync(process.execPath, [join(emscripten, 'tools', 'acorn-optimizer.js'), script, 'AJSDCE', 'minifyWhitespace'],
    { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (!out.includes(HOLDER) || !out.includes(`var ${exported[1]}`)) throw new Error('the optimizer dropped the entry point');
  const body = out.replaceAll(HOLDER, META).replace(WRAPPER, '');
  if (/\b_rs_\w+\(/.test(body)) throw new Error('the glue calls an rs_* export through its wrapper');
  writeFileSync(glue, `${body.trimEnd()}\nexport default ${exported[1]};\n`);
  console.log(`glue-dce: ${glue} ${src.length} -> ${readFileSync(glue, 'utf8').length} B`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
