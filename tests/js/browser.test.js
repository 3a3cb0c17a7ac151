// The public API in a real browser: a plain static page imports js/index.js with
// <script type="module">, Emscripten's glue fetches dist/roomsync.wasm (served as
// application/wasm) next to dist/roomsync.mjs, and two documents edit and sync.
// Headless Debian Chromium driven by playwright-core; everything stays on 127.0.0.1.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { after, before, test } from 'node:test';

import { repoRoot } from './helpers/traces.js';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };

const PAGE = `<!doctype html><meta charset="utf-8"><title>roomsync module test</title>
<script type="module">
  import { createDoc } from '/js/index.js';
  try {
    const a = await createDoc();
    const b = await createDoc();
    a.on('update', (u) => b.applyUpdate(u, 'net'));
    const deltas = [];
    b.getText('t').observe((e) => deltas.push(e.delta));
    a.getText('t').insert(0, 'hello from the browser 😀');
    a.getText('t').delete(0, 1);
    a.getMap('m').set('k', { n: 1 });
    let bad = null;
    try { b.applyUpdate(new Uint8Array([9, 9, 9])); } catch (err) { bad = err.message; }
    window.result = { text: b.getText('t').toString(), map: b.getMap('m').toJSON(), deltas, bad };
  } catch (err) {
    window.result = { error: String(err && err.stack || err) };
  }
</script>`;

let server;
let origin;
const served = [];

before(async () => {
  server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    served.push(path);
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      return;
    }
    const file = normalize(join(repoRoot, path));
    if (!file.startsWith(repoRoot + '/') || !/^\/(js|dist)\//.test(path)) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] || 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${server.address().port}`;
});

after(() => server?.close());

test('a <script type="module"> page loads the wasm module and syncs two documents', async (t) => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing (scripts/setup.sh installs chromium)`);
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => window.result !== undefined, null, { timeout: 20_000 });
  const result = await page.evaluate(() => window.result);
  assert.equal(result.error, undefined, result.error);
  assert.deepEqual(errors, []);
  assert.equal(result.text, 'ello from the browser 😀');
  assert.deepEqual(result.map, { k: { n: 1 } });
  assert.deepEqual(result.deltas[0], [{ insert: 'hello from the browser 😀' }]);
  assert.deepEqual(result.deltas[1], [{ delete: 1 }]);
  assert.ok(typeof result.bad === 'string' && result.bad.length > 0, 'garbage update throws in the browser too');
  assert.ok(served.includes('/dist/roomsync.wasm'), 'the glue fetched the .wasm next to the .mjs');
});
