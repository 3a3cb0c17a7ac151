// The README's "Drop into a static page" example, the way a stranger uses it: the ```html
// static-page block of README.md saved as index.html next to dist/roomsync.browser.js and
// dist/roomsync.wasm in a temp dir, served by a plain static file server (node:http + fs below,
// knowing nothing of roomsync), our signaling server on the port the example names, and headless
// Chromium pages chatting through it. Run inside the private network namespace:
//   scripts/netns.sh node --test tests/e2e/static-page.test.js
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { createServer } from '../../js/server/index.js';
import { CHROMIUM, launchChromium } from '../webrtc/helpers/chromium.js';
import { assertPrivateNetns } from '../webrtc/helpers/netns.js';
import { waitUntil } from './helpers/browser.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const BUNDLE = 'roomsync.browser.js';
const WASM = 'roomsync.wasm';

/** The one ```html static-page block of the README, as it is there. */
function readmePage() {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/^```html static-page\n([\s\S]*?)^```$/gm)];
  assert.equal(blocks.length, 1, 'README.md has exactly one ```html static-page block');
  return blocks[0][1];
}

/** A static file server in the style of `python3 -m http.server`: files by extension, nothing else. */
async function startStaticServer(root) {
  const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.wasm': 'application/wasm' };
  const log = [];
  const server = createHttpServer((req, res) => {
    let path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (path.endsWith('/')) path += 'index.html';
    const file = normalize(join(root, path));
    const ok = file.startsWith(root + sep) && existsSync(file);
    log.push({ path, status: ok ? 200 : 404 });
    if (!ok) return res.writeHead(404).end('not found');
    // Under /octet/ it plays a server that does not know .wasm (sends application/octet-stream).
    const type = path.startsWith('/octet/') && extname(file) === '.wasm' ? 'application/octet-stream' : types[extname(file)];
    res.writeHead(200, { 'content-type': type ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, log, close: () => new Promise((r) => server.close(r)) };
}

let env;
before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing (scripts/setup.sh installs chromium)`);
  for (const f of [BUNDLE, WASM]) assert.ok(existsSync(join(repo, 'dist', f)), `dist/${f} is missing (scripts/build.sh wasm)`);
  // The example names a fixed port (4000); only a private namespace guarantees it is ours.
  assertPrivateNetns();

  const html = readmePage();
  const signalingUrl = html.match(/signaling: '(ws:\/\/localhost:(\d+)\/socket)'/);
  assert.ok(signalingUrl, 'the example connects to ws://localhost:<port>/socket');
  assert.equal(html.match(/from '\.\/roomsync\.browser\.js'/g)?.length, 1, 'the example imports ./roomsync.browser.js once');

  // The README layout (index.html beside the two files), and the same page one level up from
  // them (/app/index.html importing ./vendor/roomsync.browser.js).
  const root = mkdtempSync(join(tmpdir(), 'roomsync-static-'));
  mkdirSync(join(root, 'app', 'vendor'), { recursive: true });
  writeFileSync(join(root, 'index.html'), html);
  writeFileSync(join(root, 'app', 'index.html'), html.replace("from './roomsync.browser.js'", "from './vendor/roomsync.browser.js'"));
  // And once pointed at a port where no signaling server listens (/down/).
  const closedPort = await new Promise((resolve) => {
    const probe = createHttpServer().listen(0, '127.0.0.1', () => { const { port } = probe.address(); probe.close(() => resolve(port)); });
  });
  mkdirSync(join(root, 'down'));
  writeFileSync(join(root, 'down', 'index.html'), html.replace(signalingUrl[1], `ws://localhost:${closedPort}/socket`));
  mkdirSync(join(root, 'octet'));
  writeFileSync(join(root, 'octet', 'index.html'), html);
  for (const dir of ['', 'app/vendor', 'down', 'octet']) {
    for (const f of [BUNDLE, WASM]) copyFileSync(join(repo, 'dist', f), join(root, dir, f));
  }

  const signaling = await createServer({ port: Number(signalingUrl[2]), logger: { level: 'silent' } });
  const statics = await startStaticServer(root);
  const browser = await launchChromium();
  env = {
    root, signaling, statics, browser, signalingUrl: signalingUrl[1],
    async close() {
      await browser.close();
      await statics.close();
      await signaling.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
});
after(async () => {
  await env?.close();
});

let rooms = 0;
const newRoom = () => `static-${process.pid}-${++rooms}`;

/** A person opening `path` of the static site in a browser context of their own. */
async function open(path, { name, room }) {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  const p = { name, context, page, errors: [], warnings: [], requests: [], sockets: [] };
  page.on('pageerror', (err) => p.errors.push(err.message));
  page.on('console', (msg) => { if (msg.type() === 'error' || msg.type() === 'warning') p.warnings.push(msg.text()); });
  page.on('request', (req) => p.requests.push(req.url()));
  page.on('websocket', (ws) => p.sockets.push(ws.url()));
  await page.goto(`${env.statics.url}${path}?room=${encodeURIComponent(room)}&name=${encodeURIComponent(name)}`);
  await waitUntil(() => status(p).then((s) => s.startsWith(`${name}:`) || p.errors.length > 0), { message: `${name}'s page to join` });
  assert.deepEqual(p.errors, []);
  return p;
}

const status = (p) => p.page.$eval('#status', (el) => el.textContent);
const log = (p) => p.page.$eval('#log', (el) => el.textContent);

async function say(p, text) {
  await p.page.fill('input[name=msg]', text);
  await p.page.press('input[name=msg]', 'Enter');
}

/** Waits until every page shows `text` as the chat log. */
async function allShow(people, text) {
  for (const p of people) await waitUntil(async () => (await log(p)) === text, { timeoutMs: 30_000, message: `${p.name} to show ${JSON.stringify(text)}` });
}

/** The page's HTTP requests all went to the static server: the document, the bundle and the wasm beside it. */
function assertLoadedFromStaticServer(p, dir) {
  const base = `${env.statics.url}${dir}`;
  assert.deepEqual([...new Set(p.requests.map((u) => new URL(u).pathname))].sort(),
    [dir, `${dir}${dir === '/' ? '' : 'vendor/'}${BUNDLE}`, `${dir}${dir === '/' ? '' : 'vendor/'}${WASM}`].sort());
  assert.ok(p.requests.every((u) => u.startsWith(base)), `every request went to the static server: ${p.requests.join(', ')}`);
  // Our server only saw the WebSocket (it would serve dist/ too: nothing was asked of it).
  assert.ok(p.sockets.length > 0 && p.sockets.every((u) => u.startsWith(env.signalingUrl)), p.sockets.join(', '));
  // The wasm was sent as application/wasm and compiled as it streamed in (no fallback warning).
  assert.deepEqual(p.warnings.filter((w) => /wasm/i.test(w)), []);
  assert.deepEqual(p.errors, []);
}

test('the bundle is self-contained: it imports nothing, and the Node-only branches are left out', () => {
  const js = readFileSync(join(repo, 'dist', BUNDLE), 'utf8');
  // No import at all: phoenix is inside, and the dynamic imports of the Node-only branches
  // (load-module.js reading the wasm with node:fs, signaling.js's `ws` fallback) are dropped.
  // (Booleans: a failed match would print the whole bundle.)
  assert.equal(js.match(/\bimport\s*[("'{*].{0,40}/)?.[0], undefined, 'no static or dynamic import');
  assert.equal(js.match(/node:fs|\.\.\/dist\/roomsync\.wasm/)?.[0], undefined, "load-module.js's Node branch");
  assert.ok(js.includes('new URL("roomsync.wasm",import.meta.url)'), 'the wasm is looked up beside the module');
  assert.ok(js.includes('phx_join'), 'the phoenix client is bundled in');
});

test('the README page, copied beside the two files and served by a plain static server: two browsers chat, a late joiner gets the history', { timeout: 180_000 }, async () => {
  const room = newRoom();
  const ada = await open('/', { name: 'Ada', room });
  const bo = await open('/', { name: 'Bo', room });
  const people = [ada, bo];
  try {
    for (const p of people) await waitUntil(async () => (await status(p)) === `${p.name}: 1 other(s) here`, { timeoutMs: 30_000, message: `${p.name} to see the other` });

    await say(ada, 'hello from Ada <b>not bold</b>');
    await allShow(people, 'Ada: hello from Ada <b>not bold</b>\n');
    assert.equal(await bo.page.$$eval('#log b', (els) => els.length), 0, 'messages are shown as text, never as HTML');
    await say(bo, 'hi Ada');
    await allShow(people, 'Ada: hello from Ada <b>not bold</b>\nBo: hi Ada\n');

    const cy = await open('/', { name: 'Cy', room });
    people.push(cy);
    await allShow(people, 'Ada: hello from Ada <b>not bold</b>\nBo: hi Ada\n');
    await waitUntil(async () => (await status(ada)) === 'Ada: 2 other(s) here', { message: 'Ada to see Cy join' });

    for (const p of people) assertLoadedFromStaticServer(p, '/');
    // (Chromium asks for /favicon.ico on its own; the example has none.)
    assert.deepEqual(env.statics.log.filter((r) => r.status !== 200 && r.path !== '/favicon.ico'), [], 'the static server had every file asked for');

    // The bundle exports the whole public browser API: js/index.js (less its test hook) and
    // js/signaling.js.
    const names = (mod) => Object.keys(mod).filter((n) => !n.startsWith('_'));
    const expected = [...names(await import('../../js/index.js')), ...names(await import('../../js/signaling.js'))].sort();
    assert.deepEqual(await ada.page.evaluate(async (url) => Object.keys(await import(url)).sort(), `./${BUNDLE}`), expected);
  } finally {
    await Promise.all(people.map((p) => p.context.close()));
  }
});

test('the bundle imported from another directory (/app/index.html -> ./vendor/) finds the wasm beside itself and chats with the README page', { timeout: 180_000 }, async () => {
  const room = newRoom();
  const dee = await open('/app/', { name: 'Dee', room });
  const eve = await open('/', { name: 'Eve', room });
  const people = [dee, eve];
  try {
    for (const p of people) await waitUntil(async () => (await status(p)) === `${p.name}: 1 other(s) here`, { timeoutMs: 30_000, message: `${p.name} to see the other` });
    await say(dee, 'from the vendor folder');
    await say(eve, 'from the top');
    await waitUntil(async () => (await log(dee)).split('\n').length === 3, { message: 'both messages at Dee' });
    const text = await log(dee);
    await allShow(people, text);
    assert.deepEqual(text.split('\n').sort(), ['', 'Dee: from the vendor folder', 'Eve: from the top']);

    assertLoadedFromStaticServer(dee, '/app/');
    assertLoadedFromStaticServer(eve, '/');
    // Resolved against the page instead of the module, the wasm would be /app/roomsync.wasm.
    assert.ok(!env.statics.log.some((r) => r.path === '/app/roomsync.wasm'));
  } finally {
    await Promise.all(people.map((p) => p.context.close()));
  }
});

test('without a signaling server the page says it cannot join', { timeout: 60_000 }, async () => {
  const context = await env.browser.newContext();
  try {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${env.statics.url}/down/?room=${newRoom()}&name=Fay`);
    const shown = await waitUntil(async () => {
      const text = await page.$eval('#status', (el) => el.textContent);
      return text.startsWith('Cannot join: ') && text;
    }, { message: 'the page to report the failed join' });
    assert.match(shown, /^Cannot join: cannot connect to ws:\/\/localhost:\d+\/socket/);
    assert.equal(errors.length, 1, 'the error is also thrown, for the console');
  } finally {
    await context.close();
  }
});

test('a server that sends the wasm as application/octet-stream: the page still works (compiled after download, with a console warning)', { timeout: 60_000 }, async () => {
  const gus = await open('/octet/', { name: 'Gus', room: newRoom() });
  try {
    assert.equal(await status(gus), 'Gus: 0 other(s) here');
    await say(gus, 'still here');
    await allShow([gus], 'Gus: still here\n');
    assert.ok(gus.warnings.some((w) => /falling back to ArrayBuffer instantiation/.test(w)), gus.warnings.join('\n'));
  } finally {
    await gus.context.close();
  }
});
