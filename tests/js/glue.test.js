// The shipped glue (issue 8, size): scripts/glue-dce.mjs, which CMakeLists.txt runs on
// dist/roomsync.mjs after the link, and what the link flags promise about the glue.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const root = new URL('../../', import.meta.url).pathname;
const script = join(root, 'scripts/glue-dce.mjs');
const emscripten = process.env.EMSCRIPTEN || '/usr/share/emscripten';
const noEmscripten = existsSync(join(emscripten, 'tools/acorn-optimizer.js')) ? false : `no Emscripten in ${emscripten}`;
// The optimizer needs Debian's acorn, outside Node's default path (as scripts/build.sh sets it).
const env = { ...process.env, NODE_PATH: `/usr/share/nodejs${process.env.NODE_PATH ? `:${process.env.NODE_PATH}` : ''}` };

test('the shipped glue and bundle need no eval (-sDYNAMIC_EXECUTION=0: pages whose CSP forbids unsafe-eval)', () => {
  for (const file of ['dist/roomsync.mjs', 'dist/roomsync.browser.js']) {
    const src = readFileSync(join(root, file), 'utf8');
    assert.doesNotMatch(src, /\bnew Function\b|\beval\(/, file);
  }
});

test('glue-dce drops unused helpers and the named rs_* wrappers, keeps the rest', { skip: noEmscripten }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'roomsync-glue-test-'));
  try {
    const glue = join(dir, 'glue.mjs');
    writeFileSync(glue, `var createRoomsyncModule = (() => {
  var _scriptDir = import.meta.url;
  return (function(createRoomsyncModule) {
    var Module = {};
    function unusedHelper() { return 1; }
    function usedHelper() { return _scriptDir; }
    Module["asm"] = {};
    var _rs_a=Module["_rs_a"]=function(){return(_rs_a=Module["_rs_a"]=Module["asm"]["rs_a"]).apply(null,arguments)};
    var _rs_b=Module["_rs_b"]=function(){return(_rs_b=Module["_rs_b"]=Module["asm"]["x"]).apply(null,arguments)};
    Module.url = usedHelper();
    return Module;
  });
})();
export default createRoomsyncModule;
`);
    execFileSync(process.execPath, [script, glue, emscripten], { env, stdio: 'pipe' });
    const out = readFileSync(glue, 'utf8');
    assert.doesNotMatch(out, /unusedHelper/);
    assert.match(out, /usedHelper/);
    assert.match(out, /import\.meta\.url/);
    assert.doesNotMatch(out, /_rs_a/, 'the wrapper of an export that kept its name goes');
    assert.match(out, /Module\["_rs_b"\]/, 'a minified export keeps its wrapper');
    assert.match(out, /\nexport default createRoomsyncModule;\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('glue-dce refuses a file that is not the glue, and leaves it alone', { skip: noEmscripten }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'roomsync-glue-test-'));
  try {
    const file = join(dir, 'other.mjs');
    writeFileSync(file, 'export const x = 1;\n');
    const r = spawnSync(process.execPath, [script, file, emscripten], { env, encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /not the glue/);
    assert.equal(readFileSync(file, 'utf8'), 'export const x = 1;\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
