// Static files, MIME types, traversal, /healthz and /metrics.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { startServer, phxSocket, join } from './helpers.js';
import { defaultStaticDirs } from '../../../js/server/index.js';

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
  const pkgRoot = path.resolve(import.meta.dirname, '../../..');
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
