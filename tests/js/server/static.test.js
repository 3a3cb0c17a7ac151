// Static files, MIME types, traversal, /healthz and /metrics.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { startServer, phxSocket, join } from './helpers.js';
import { defaultStaticDirs } from '../../../js/server/index.js';

const PKG = path.resolve(import.meta.dirname, '../../..');

let srv;
let root;
before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'roomsync-static-'));
  const www = path.join(root, 'www');
  const dist = path.join(root, 'dist');
  await mkdir(path.join(www, 'demo'), { recursive: true });
  await mkdir(dist);
  await writeFile(path.join(www, 'index.html'), '<h1>hi</h1>');
  await writeFile(path.join(www, 'demo', 'index.html'), '<h1>demo</h1>');
  await writeFile(path.join(www, 'app.js'), 'export {}');
  await writeFile(path.join(www, '.env'), 'SECRET=1');
  await writeFile(path.join(root, 'secret.txt'), 'outside');
  await writeFile(path.join(dist, 'roomsync.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  srv = await startServer({ staticDirs: [{ prefix: '/', dir: www }, { prefix: '/dist/', dir: dist }] });
});
after(async () => {
  await srv.close();
  await rm(root, { recursive: true, force: true });
});

const get = (p, init) => fetch(srv.httpUrl + p, init);

test('serves www/ at / and dist/ at /dist/ with the right MIME types', async () => {
  let r = await get('/');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/html/);
  assert.equal(await r.text(), '<h1>hi</h1>');
  r = await get('/app.js');
  assert.match(r.headers.get('content-type'), /^text\/javascript/);
  r = await get('/dist/roomsync.wasm');
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'application/wasm');
  assert.equal(Buffer.from(await r.arrayBuffer()).length, 8);
  r = await get('/demo', { redirect: 'manual' });
  assert.equal(r.status, 301);
  r = await get('/demo/');
  assert.equal(await r.text(), '<h1>demo</h1>');
  r = await get('/dist/roomsync.wasm', { method: 'HEAD' });
  assert.equal(r.headers.get('content-length'), '8');
  assert.equal((await get('/nope.html')).status, 404);
});

test('no path traversal, no dotfiles', async () => {
  // fetch() normalises "..", so send raw request lines.
  const raw = (p) =>
    new Promise((resolve, reject) => {
      const s = net.connect(srv.port, '127.0.0.1', () => s.write(`GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
      let buf = '';
      s.on('data', (d) => (buf += d));
      s.on('end', () => resolve(buf));
      s.on('error', reject);
    });
  for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/dist/..%2fsecret.txt', '/..%5csecret.txt', '/.env', '/%2eenv', '/demo/../../secret.txt']) {
    const res = await raw(p);
    assert.match(res, /^HTTP\/1\.1 (404|400)/, `${p} must not be served`);
    assert.doesNotMatch(res, /outside|SECRET=1/, p);
  }
});

test('/healthz reports counters as JSON, /metrics as Prometheus text', async () => {
  const sock = phxSocket(srv.url);
  await join(sock, 'room:h');
  const h = await (await get('/healthz')).json();
  assert.equal(h.status, 'ok');
  assert.equal(h.connectionsCurrent, 1);
  assert.equal(h.rooms, 1);
  assert.ok(h.joins >= 1);
  assert.ok(h.messagesIn >= 1);
  const m = await (await get('/metrics')).text();
  assert.match(m, /^roomsync_connections 1$/m);
  assert.match(m, /^# TYPE roomsync_joins_total counter$/m);
  sock.disconnect();
});

test('default static mounts resolve relative to the package and vendor the phoenix ESM build', async () => {
  const mounts = defaultStaticDirs();
  const pkgRoot = PKG;
  assert.deepEqual(mounts.slice(0, 2).map((m) => [m.prefix, m.dir]), [['/', path.join(pkgRoot, 'www')], ['/dist/', path.join(pkgRoot, 'dist')]]);
  const s = await startServer({ staticDirs: undefined });
  try {
    const r = await fetch(`${s.httpUrl}/vendor/phoenix/phoenix.mjs`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/javascript/);
    assert.match(await r.text(), /export/);
  } finally {
    await s.close();
  }
});

test('a mount with `files` serves only those files (`*` stays within one path segment)', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'roomsync-files-'));
  try {
    await mkdir(path.join(dir, 'room', 'deep'), { recursive: true });
    await mkdir(path.join(dir, 'server'));
    for (const f of ['index.js', 'index.d.ts', 'cli.js', 'room/a.js', 'room/a.ts', 'room/deep/b.js', 'server/index.js']) await writeFile(path.join(dir, f), 'export {}');
    const s = await startServer({ staticDirs: [{ prefix: '/js/', dir, files: ['index.js', 'room/*.js'] }] });
    try {
      for (const [p, status] of [
        ['/js/index.js', 200], ['/js/room/a.js', 200],
        ['/js/index.d.ts', 404], ['/js/cli.js', 404], ['/js/room/a.ts', 404], ['/js/room/deep/b.js', 404],
        ['/js/server/index.js', 404], ['/js/room', 404], ['/js/room/', 404], ['/js/', 404], ['/js/%72oom/a.js', 200],
      ]) {
        const r = await fetch(s.httpUrl + p, { redirect: 'manual' });
        assert.equal(r.status, status, p);
      }
    } finally {
      await s.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the default mounts serve what pages need and nothing of the server, the CLI or the rest of phoenix', async () => {
  const byPrefix = Object.fromEntries(defaultStaticDirs().map((m) => [m.prefix, m]));
  assert.deepEqual(Object.keys(byPrefix).sort(), ['/', '/dist/', '/js/', '/vendor/phoenix/']);
  assert.equal(byPrefix['/'].files, undefined, 'www/ holds only pages: all of it');
  assert.deepEqual(byPrefix['/dist/'].files, ['roomsync.mjs', 'roomsync.wasm', 'roomsync.browser.js', 'roomsync.codemirror.js']);
  assert.deepEqual(byPrefix['/js/'].files, ['index.js', 'load-module.js', 'signaling.js', 'undo.js', 'room/*.js']);
  assert.deepEqual(byPrefix['/vendor/phoenix/'].files, ['phoenix.mjs']);
  const s = await startServer({ staticDirs: undefined });
  try {
    for (const p of ['/js/server/index.js', '/js/server/', '/js/cli.js', '/js/demo.js', '/js/index.d.ts', '/js/signaling.d.ts', '/js/',
      '/vendor/phoenix/phoenix.cjs.js', '/vendor/phoenix/phoenix.js', '/vendor/phoenix/phoenix.min.js', '/vendor/phoenix/phoenix.png', '/vendor/phoenix/favicon.ico', '/vendor/phoenix/']) {
      assert.equal((await fetch(s.httpUrl + p, { redirect: 'manual' })).status, 404, `${p} must not be served`);
    }
    for (const p of ['/', '/chat.html', '/chat.js', '/shell.js', '/style.css', '/js/index.js', '/js/load-module.js', '/js/signaling.js', '/vendor/phoenix/phoenix.mjs']) {
      assert.equal((await fetch(s.httpUrl + p)).status, 200, p);
    }
  } finally {
    await s.close();
  }
});

// Follows every static import of the demo pages (script/link tags, an import map, `import … from`,
// `import('…')`, `new URL('…', import.meta.url)`) and checks the server serves each file. dist/ is
// a stand-in with the build outputs (and one file that must stay private), so this runs without
// a WASM build.
test('every file the demo pages load, transitively, is served', async () => {
  const dist = await mkdtemp(path.join(tmpdir(), 'roomsync-dist-'));
  const mounts = defaultStaticDirs().map((m) => (m.prefix === '/dist/' ? { ...m, dir: dist } : m));
  await writeFile(path.join(dist, 'roomsync.mjs'), "export default async function () { return new URL('roomsync.wasm', import.meta.url); }");
  await writeFile(path.join(dist, 'roomsync.browser.js'), 'export const wasm = new URL("roomsync.wasm", import.meta.url);');
  await writeFile(path.join(dist, 'roomsync.codemirror.js'), 'export const EditorView = null;');
  await writeFile(path.join(dist, 'roomsync.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  await writeFile(path.join(dist, 'roomsync.js.map'), '{}');
  const s = await startServer({ staticDirs: mounts });
  try {
    const seen = new Set();
    for (const pagePath of ['/', '/chat.html', '/editor.html']) {
      const html = await (await fetch(s.httpUrl + pagePath)).text();
      const importMap = JSON.parse(html.match(/<script type="importmap">([\s\S]*?)<\/script>/)?.[1] ?? '{"imports":{}}').imports;
      const queue = [...html.matchAll(/<(?:script|link|img)\b[^>]*?\b(?:src|href)="([^"]+)"/g)].filter((m) => !m[1].startsWith('data:')).map((m) => new URL(m[1], s.httpUrl + pagePath).href);
      while (queue.length) {
        const url = queue.shift();
        if (seen.has(url)) continue;
        seen.add(url);
        const r = await fetch(url);
        assert.equal(r.status, 200, `${new URL(url).pathname} is needed by ${pagePath}`);
        if (!/\.m?js$/.test(url)) continue;
        const code = (await r.text()).replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
        const specifiers = [
          ...code.matchAll(/\bimport\s*(?:[\w*{}\s,]+\bfrom\s*)?['"]([^'"]+)['"]/g),
          ...code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
          ...code.matchAll(/\bexport\s*[\w*{}\s,]+\bfrom\s*['"]([^'"]+)['"]/g), // re-exports
        ].map((m) => m[1]);
        for (const spec of specifiers) {
          if (spec.startsWith('node:')) continue;
          const mapped = importMap[spec] ?? spec;
          assert.ok(/^[./]/.test(mapped), `${spec} (imported by ${new URL(url).pathname}) is a bare specifier the import map does not map`);
          queue.push(new URL(mapped, url).href);
        }
        // Files fetched relative to a module (the .wasm next to the bundle).
        for (const m of code.matchAll(/new URL\(\s*['"]([^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g)) queue.push(new URL(m[1], url).href);
      }
    }
    for (const p of ['/index.js', '/chat.js', '/shell.js', '/style.css', '/chat.css', '/dist/roomsync.browser.js', '/dist/roomsync.wasm', '/editor.js', '/editor.css', '/dist/roomsync.codemirror.js']) {
      assert.ok(seen.has(s.httpUrl + p), `the walk reached ${p}`);
    }
    assert.equal((await fetch(s.httpUrl + '/dist/roomsync.js.map')).status, 404);
  } finally {
    await s.close();
    await rm(dist, { recursive: true, force: true });
  }
});

test('--help lists exactly what is served over HTTP', () => {
  const r = spawnSync(process.execPath, [path.join(PKG, 'js/cli.js'), '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  for (const served of ['/dist/roomsync.mjs', '/dist/roomsync.wasm', '/js/index.js', '/js/load-module.js', '/js/signaling.js', '/js/room/*.js', '/vendor/phoenix/phoenix.mjs', '/healthz', '/metrics', 'www/']) {
    assert.ok(r.stdout.includes(served), `--help names ${served}`);
  }
  assert.doesNotMatch(r.stdout, /js\/server|cli\.js|every file of (dist|js|node_modules)/);
});
