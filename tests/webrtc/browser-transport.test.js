// PeerTransport in headless Chromium (playwright-core + /usr/bin/chromium): two pages connect
// through our signaling server, and a page talks to a Node peer on @roamhq/wrtc. The page loads
// js/room/transport.js and js/signaling.js as ES modules from the server itself.
// Run inside the private network namespace:  scripts/netns.sh node --test tests/webrtc/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CHROMIUM, launchChromium } from './helpers/chromium.js';
import { defaultStaticDirs } from '../../js/server/index.js';
import { startServer, closeAll, makePeer, waitUntil, numbered, indices, range } from './helpers/peers.js';

const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`;

let srv;
let browser;
before(async () => {
  if (skip) return;
  const pages = fileURLToPath(new URL('./pages/', import.meta.url));
  srv = await startServer({ staticDirs: [...defaultStaticDirs(), { prefix: '/test/', dir: pages }] });
  browser = await launchChromium();

});
after(async () => {
  await closeAll();
  await browser?.close();
  await srv?.close();
});

let roomCounter = 0;
const newRoom = () => `browser-${process.pid}-${++roomCounter}`;

async function openPage(ctx, room, opts = {}) {
  const page = await ctx.newPage();
  const logs = [];
  page.on('console', (m) => logs.push(m.text()));
  page.on('pageerror', (e) => logs.push(String(e)));
  await page.goto(`${srv.httpUrl}/test/transport.html`);
  await page.waitForFunction(() => window.ready === true);
  const id = await page.evaluate((o) => window.start(o), { room, ...opts });
  return { page, id, logs };
}

const route = (p, other) => p.page.evaluate((o) => window.peer.transport.route(o), other);
const errors = (p) => p.page.evaluate(() => window.peer.errors);

test('two Chromium pages connect through our server and exchange ordered frames (64 KiB included)', { skip, timeout: 60_000 }, async () => {
  const ctx = await browser.newContext();
  try {
    const room = newRoom();
    const a = await openPage(ctx, room);
    const b = await openPage(ctx, room);
    await a.page.evaluate((o) => window.peer.transport.connect(o), b.id);
    await b.page.evaluate((o) => window.peer.transport.connect(o), a.id);
    await waitUntil(async () => (await route(a, b.id)) === 'datachannel' && (await route(b, a.id)) === 'datachannel', { message: 'channel open in both pages' });
    await a.page.evaluate((o) => {
      for (let i = 0; i < 100; i++) {
        const f = new Uint8Array(i === 99 ? 65536 : 100);
        new DataView(f.buffer).setUint32(0, i);
        window.peer.transport.send(o, f);
      }
    }, b.id);
    await waitUntil(() => b.page.evaluate((o) => (window.peer.frames[o] || []).length === 100, a.id), { message: '100 frames' });
    const got = await b.page.evaluate((o) => window.peer.frames[o], a.id);
    assert.deepEqual(got.map(([x0, x1, x2, x3]) => (x0 << 24) | (x1 << 16) | (x2 << 8) | x3), range(100));
    assert.equal(got[99][4], 65536);
    assert.deepEqual(await errors(a), []);
    assert.deepEqual(await errors(b), []);
    await a.page.evaluate(() => window.peer.close());
    await waitUntil(() => b.page.evaluate((o) => window.peer.closes.includes(o), a.id), { message: 'bye in page b' });
  } finally {
    await ctx.close();
  }
});

test('a Chromium page and a Node peer (@roamhq/wrtc) connect with a room password', { skip, timeout: 60_000 }, async () => {
  const ctx = await browser.newContext();
  try {
    const room = newRoom();
    const web = await openPage(ctx, room, { password: 'hunter2' });
    const node = await makePeer(srv, room, { password: 'hunter2' });
    node.transport.connect(web.id);
    await web.page.evaluate((o) => window.peer.transport.connect(o), node.id);
    await waitUntil(async () => node.transport.route(web.id) === 'datachannel' && (await route(web, node.id)) === 'datachannel', { message: 'channel open' });
    for (const i of range(20)) node.transport.send(web.id, numbered(i, 1000));
    await web.page.evaluate((o) => {
      for (let i = 0; i < 20; i++) {
        const f = new Uint8Array(1000);
        new DataView(f.buffer).setUint32(0, i);
        for (let j = 4; j < f.length; j++) f[j] = (i + j) & 255;
        window.peer.transport.send(o, f);
      }
    }, node.id);
    await waitUntil(async () => node.received(web.id).length === 20 && (await web.page.evaluate((o) => (window.peer.frames[o] || []).length, node.id)) === 20, { message: 'frames both ways' });
    assert.deepEqual(indices(node.received(web.id)), range(20));
    assert.deepEqual(node.errors, []);
    assert.deepEqual(await errors(web), []);
    await node.close();
  } finally {
    await ctx.close();
  }
});

test('two Chromium pages over the relay only, with a password (WebCrypto in the page)', { skip, timeout: 60_000 }, async () => {
  const ctx = await browser.newContext();
  try {
    const room = newRoom();
    const a = await openPage(ctx, room, { password: 'pw', relay: 'always' });
    const b = await openPage(ctx, room, { password: 'pw', relay: 'always' });
    await a.page.evaluate((o) => window.peer.transport.connect(o), b.id);
    await waitUntil(async () => (await route(a, b.id)) === 'relay', { message: 'relay route' });
    await a.page.evaluate((o) => {
      for (let i = 0; i < 30; i++) {
        const f = new Uint8Array(i === 29 ? 65536 : 500);
        new DataView(f.buffer).setUint32(0, i);
        window.peer.transport.send(o, f);
      }
    }, b.id);
    await waitUntil(() => b.page.evaluate((o) => (window.peer.frames[o] || []).length === 30, a.id), { message: '30 relayed frames' });
    const got = await b.page.evaluate((o) => window.peer.frames[o], a.id);
    assert.deepEqual(got.map(([x0, x1, x2, x3]) => (x0 << 24) | (x1 << 16) | (x2 << 8) | x3), range(30));
    assert.equal(got[29][4], 65536);
    assert.deepEqual(await errors(a), []);
    assert.deepEqual(await errors(b), []);
  } finally {
    await ctx.close();
  }
});

test('a Chromium page with the wrong password is refused with a clear error', { skip, timeout: 60_000 }, async () => {
  const ctx = await browser.newContext();
  try {
    const room = newRoom();
    const web = await openPage(ctx, room, { password: 'wrong' });
    const node = await makePeer(srv, room, { password: 'right' });
    node.transport.connect(web.id);
    await waitUntil(() => node.errors.some((e) => e.code === 'wrong_password'), { message: 'error in node' });
    await waitUntil(async () => (await errors(web)).some((e) => e.code === 'wrong_password' && e.peerId === node.id), { message: 'error in page' });
    assert.equal(await route(web, node.id), null);
    assert.equal(node.transport.route(web.id), null);
    await node.close();
  } finally {
    await ctx.close();
  }
});

// ---- media on the transport's connections (calls, js/room/call.js)
test('media tracks ride the data channel\'s connection: offers with tracks cross (glare), frames stay in order, an ICE restart keeps both', { skip, timeout: 90_000 }, async () => {
  const ctx = await browser.newContext();
  try {
    const room = newRoom();
    const a = await openPage(ctx, room);
    const b = await openPage(ctx, room);
    await a.page.evaluate((o) => window.peer.transport.connect(o), b.id);
    await b.page.evaluate((o) => window.peer.transport.connect(o), a.id);
    await waitUntil(async () => (await route(a, b.id)) === 'datachannel' && (await route(b, a.id)) === 'datachannel', { message: 'channel open in both pages' });
    // Both pages add a camera track at once: each side's onnegotiationneeded makes an offer.
    const addTrack = (p, other) => p.page.evaluate(async (o) => {
      const pc = window.peer.transport.peerConnection(o);
      window.media = { tracks: [], pc };
      pc.addEventListener('track', (e) => window.media.tracks.push(e.track.kind));
      const stream = await navigator.mediaDevices.getUserMedia({ video: true });
      pc.addTrack(stream.getVideoTracks()[0], stream);
    }, other);
    await Promise.all([addTrack(a, b.id), addTrack(b, a.id)]);
    const negotiated = (p, other) => p.page.evaluate((o) => {
      const pc = window.peer.transport.peerConnection(o);
      const video = pc.getTransceivers().filter((t) => t.receiver.track.kind === 'video');
      return pc === window.media.pc && pc.signalingState === 'stable' && window.media.tracks.includes('video') &&
        video.length === 1 && video[0].currentDirection === 'sendrecv';
    }, other);
    await waitUntil(async () => (await negotiated(a, b.id)) && (await negotiated(b, a.id)), { timeoutMs: 30_000, message: 'one sendrecv video transceiver on each side' });
    const frames = async (from, to, base, n) => {
      await from.page.evaluate(([o, base, n]) => {
        for (let i = base; i < base + n; i++) {
          const f = new Uint8Array(8);
          new DataView(f.buffer).setUint32(0, i);
          window.peer.transport.send(o, f);
        }
      }, [to.id, base, n]);
      await waitUntil(() => to.page.evaluate(([o, n]) => (window.peer.frames[o] || []).length === n, [from.id, base + n]), { message: `${base + n} frames` });
      const got = await to.page.evaluate((o) => window.peer.frames[o], from.id);
      assert.deepEqual(got.map(([x0, x1, x2, x3]) => (x0 << 24) | (x1 << 16) | (x2 << 8) | x3), range(base + n));
    };
    await frames(a, b, 0, 50);
    await frames(b, a, 0, 50);
    // An ICE restart (new ufrag) renegotiates the data and media m-lines together.
    const ufrag = (p, other) => p.page.evaluate((o) => window.peer.transport.peerConnection(o).localDescription.sdp.match(/a=ice-ufrag:(\S+)/)[1], other);
    const before = await ufrag(a, b.id);
    await a.page.evaluate((o) => window.peer.transport.peerConnection(o).restartIce(), b.id);
    await waitUntil(async () => (await ufrag(a, b.id)) !== before && (await negotiated(a, b.id)) && (await negotiated(b, a.id)), { timeoutMs: 30_000, message: 'ICE restarted with the media kept' });
    await frames(a, b, 50, 50);
    await frames(b, a, 50, 50);
    const rtc = (errs) => errs.filter((e) => e.code === 'rtc_error');
    assert.deepEqual(rtc(await errors(a)), []);
    assert.deepEqual(rtc(await errors(b)), []);
  } finally {
    await ctx.close();
  }
});
