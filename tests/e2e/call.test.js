// The call page (www/call.html) in headless Chromium with a fake camera and microphone: people
// start and join a call, see each other's video play, mute, turn the camera off, leave and
// rejoin; and room.call() itself where the page does not go (a full call, no WebRTC route).
// Run inside the private network namespace:  scripts/netns.sh node --test tests/e2e/call.test.js
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { startBrowserAndServer, waitUntil } from './helpers/browser.js';

let env;
before(async () => {
  env = await startBrowserAndServer();
});
after(async () => {
  await env?.close();
});

let rooms = 0;
const newRoom = () => `call-${process.pid}-${++rooms}`;

/** A person with the call page open in its own browser context, joined to the room (not the call). */
async function openPerson(name, room, { viewport = { width: 1100, height: 760 }, init } = {}) {
  const context = await env.browser.newContext({ viewport });
  if (init) await context.addInitScript(init);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`${env.server.httpUrl}/call.html?room=${encodeURIComponent(room)}&name=${encodeURIComponent(name)}`);
  await waitUntil(() => page.$eval('#status', (el) => el.dataset.state === 'live'), { timeoutMs: 30_000, message: `${name}'s page to join the room` });
  return { name, page, context, errors };
}

const closeAll = (people) => Promise.all(people.map((p) => p.context.close()));

/** Clicks Start/Join call and waits for the call view. */
async function joinCall(p) {
  await p.page.click('#start');
  await waitUntil(() => p.page.$eval('#stage', (el) => !el.hidden), { message: `${p.name}'s call to start` });
}

/** The tiles as the page shows them. */
const tilesOf = (p) => p.page.$$eval('#tiles .tile[data-peer]', (list) => list.map((t) => ({
  name: t.dataset.name,
  self: t.hasAttribute('data-self'),
  muted: getComputedStyle(t.querySelector('.mic-off')).display !== 'none',
  cameraOff: getComputedStyle(t.querySelector('.cam-off')).display !== 'none' && getComputedStyle(t.querySelector('.face')).display !== 'none',
  talking: t.dataset.talking === 'true',
  caption: t.querySelector('.who').textContent,
})));

const tileOf = async (p, name) => (await tilesOf(p)).find((t) => t.name === name && !t.self);

/** The video of `name`'s tile plays: frames decoded (readyState >= 2, a width) and time moving on. */
async function seesVideo(p, name) {
  const read = () => p.page.$$eval('#tiles .tile[data-peer]:not([data-self])', (list, n) => {
    const v = list.find((t) => t.dataset.name === n)?.querySelector('video');
    return v ? { readyState: v.readyState, width: v.videoWidth, time: v.currentTime, paused: v.paused } : null;
  }, name);
  let first;
  await waitUntil(async () => {
    const v = await read();
    if (!v || v.readyState < 2 || v.width === 0 || v.paused) return false;
    first ??= v.time;
    return v.time > first;
  }, { timeoutMs: 60_000, intervalMs: 200, message: `${p.name} to see ${name}'s video playing` }).catch(async (err) => {
    err.message += `; the page's call: ${JSON.stringify(await diagnose(p))}`;
    throw err;
  });
}

/** What the page's call and connections look like (for a failure message). */
const diagnose = (p) => p.page.evaluate(() => {
  const { room, call } = window.callPage;
  const tiles = [...document.querySelectorAll('#tiles .tile[data-peer]')].map((t) => {
    const v = t.querySelector('video');
    return [t.dataset.name, t.dataset.media, v.readyState, v.videoWidth, v.paused, v.srcObject?.getTracks().map((x) => `${x.kind}:${x.readyState}`)];
  });
  const pcs = room.getPeers().map((id) => {
    const pc = room._peerConnection(id);
    return [id, room.peerInfo(id)?.via, pc?.connectionState, pc?.signalingState, pc?.getTransceivers().map((t) => [t.mid, t.direction, t.currentDirection, t.sender.track?.kind])];
  });
  return { me: room.peerId, tiles, pcs, members: call?.peers().map((m) => [m.id, m.media]) };
});

const remoteNames = async (p) => (await tilesOf(p)).filter((t) => !t.self).map((t) => t.name).sort();

test('two people: start, join, see each other, mute and camera shown to the other, talking, leave and rejoin', { timeout: 150_000 }, async () => {
  const room = newRoom();
  const ada = await openPerson('Ada', room);
  const bo = await openPerson('Bo', room);
  try {
    assert.equal(await bo.page.textContent('#start'), 'Start call');
    await joinCall(ada);
    // Alone: the empty state says so; Bo's lobby says who is in the call.
    assert.equal(await ada.page.isVisible('#tiles .waiting'), true);
    assert.match(await ada.page.textContent('#tiles .waiting'), /Waiting for others/);
    await waitUntil(async () => (await bo.page.textContent('#lobby-title')) === 'Ada is in the call', { message: 'Bo to see Ada in the call' });
    assert.equal(await bo.page.textContent('#start'), 'Join call');

    await joinCall(bo);
    await seesVideo(ada, 'Bo');
    await seesVideo(bo, 'Ada');
    assert.deepEqual(await remoteNames(ada), ['Bo']);
    assert.equal(await ada.page.isVisible('#tiles .waiting'), false);
    for (const p of [ada, bo]) {
      await waitUntil(() => p.page.isVisible('#duration'), { message: `${p.name} to show the duration` });
      assert.match(await p.page.textContent('#duration-text'), /^\d+:\d\d$/);
    }
    // The fake microphone beeps: the other side highlights the tile of whoever makes a sound.
    await waitUntil(async () => (await tileOf(bo, 'Ada'))?.talking, { timeoutMs: 20_000, intervalMs: 50, message: 'Bo to see Ada talking' });

    // Mute and camera off: the other page shows the icons (and the avatar instead of the video).
    await ada.page.click('#mute');
    await waitUntil(async () => (await tileOf(bo, 'Ada'))?.muted, { message: 'Bo to see Ada muted' });
    assert.equal((await tileOf(bo, 'Ada')).cameraOff, false);
    assert.equal(await ada.page.getAttribute('#mute', 'aria-pressed'), 'true');
    assert.equal((await tilesOf(ada)).find((t) => t.self).muted, true);
    await ada.page.click('#camera');
    await waitUntil(async () => (await tileOf(bo, 'Ada'))?.cameraOff, { message: 'Bo to see Ada with the camera off' });
    await ada.page.click('#mute');
    await waitUntil(async () => (await tileOf(bo, 'Ada'))?.muted === false, { message: 'Bo to see Ada unmuted' });
    assert.equal((await tileOf(bo, 'Ada')).cameraOff, true);
    await ada.page.click('#camera');
    await waitUntil(async () => (await tileOf(bo, 'Ada'))?.cameraOff === false, { message: 'Bo to see Ada with the camera on' });

    // Bo leaves: his tile goes from Ada's page, Ada waits again; Bo's lobby offers to join.
    await bo.page.click('#leave');
    await waitUntil(async () => (await remoteNames(ada)).length === 0, { message: "Bo's tile to go from Ada's page" });
    assert.equal(await ada.page.isVisible('#tiles .waiting'), true);
    assert.equal(await bo.page.isVisible('#stage'), false);
    await waitUntil(async () => (await bo.page.textContent('#start')) === 'Join call', { message: 'Bo to be offered to join again' });

    // And comes back: video both ways again, over the same connection.
    await joinCall(bo);
    await seesVideo(ada, 'Bo');
    await seesVideo(bo, 'Ada');
    for (const p of [ada, bo]) assert.deepEqual(p.errors, []);
  } finally {
    await closeAll([ada, bo]);
  }
});

test('three people see both others; one who closes the page disappears from the others', { timeout: 150_000 }, async () => {
  const room = newRoom();
  const people = [];
  try {
    for (const name of ['Ada', 'Bo', 'Cy']) people.push(await openPerson(name, room, { viewport: { width: 900, height: 700 } }));
    await Promise.all(people.map(joinCall)); // all at once: offers with media cross (perfect negotiation)
    for (const p of people) {
      for (const other of people) if (other !== p) await seesVideo(p, other.name);
    }
    assert.deepEqual(await remoteNames(people[0]), ['Bo', 'Cy']);
    await people[2].context.close();
    for (const p of people.slice(0, 2)) {
      await waitUntil(async () => !(await remoteNames(p)).includes('Cy'), { message: `Cy's tile to go from ${p.name}'s page` });
    }
    for (const p of people) assert.deepEqual(p.errors, []);
  } finally {
    await closeAll(people);
  }
});

test('a page without camera permission says so and can try again', { timeout: 60_000 }, async () => {
  const room = newRoom();
  const deny = () => {
    navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
  };
  const ada = await openPerson('Ada', room, { init: deny });
  try {
    await ada.page.click('#start');
    await waitUntil(() => ada.page.isVisible('#banner'), { message: 'the error banner' });
    assert.equal(await ada.page.textContent('#banner-title'), 'Camera and microphone are blocked.');
    assert.equal(await ada.page.isVisible('#stage'), false);
    assert.equal(await ada.page.isDisabled('#start'), false);
  } finally {
    await closeAll([ada]);
  }
});

// room.call() where the page does not go: media-less API checks in a page, from the bundle.
async function libraryPage() {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${env.server.httpUrl}/call.html`); // any page of the server: the bundle is same-origin
  return { page, context };
}

test('room.call(): the call is full beyond maxPeers, a peer without a WebRTC route is unreachable, bad options throw', { timeout: 90_000 }, async () => {
  const room = newRoom();
  const pages = [await libraryPage(), await libraryPage(), await libraryPage()];
  try {
    // Each joins the room and a call with a canvas stream (no camera needed): two fit, the third is told.
    const start = (p, i, opts) => p.page.evaluate(async ([roomName, i, opts]) => {
      const { joinRoom } = await import('/dist/roomsync.browser.js');
      const room = await joinRoom({ signaling: '/socket', room: roomName, relay: opts.relay });
      const canvas = Object.assign(document.createElement('canvas'), { width: 64, height: 48 });
      const stream = canvas.captureStream(5);
      window.t = { room, log: [] };
      if (opts.wait) await new Promise((r) => { const check = () => (room.getPeers().length >= opts.wait ? r() : setTimeout(check, 50)); check(); });
      const call = await room.call({ stream, maxPeers: 2 });
      window.t.call = call;
      call.on('error', (err) => window.t.log.push(err.code));
      call.on('leave', (why) => window.t.log.push(`leave:${why}`));
      return i;
    }, [room, i, opts]);
    await start(pages[0], 0, {});
    await start(pages[1], 1, { wait: 1 });
    await waitUntil(() => pages[0].page.evaluate(() => window.t.call.peers().length === 1), { message: 'the first two in one call' });
    await start(pages[2], 2, { wait: 2 });
    await waitUntil(() => pages[2].page.evaluate(() => window.t.call.state === 'full'), { message: 'the third to be told the call is full' });
    assert.deepEqual(await pages[2].page.evaluate(() => window.t.log), ['call_full', 'leave:full']);
    for (const p of pages.slice(0, 2)) {
      await waitUntil(() => p.page.evaluate(() => window.t.call.peers().length === 1 && window.t.call.state === 'joined'), { message: 'the two stay together' });
    }
    // Bad options: a clear TypeError, nothing started.
    const bad = await pages[2].page.evaluate(async () => {
      const out = [];
      for (const opts of [{ audio: false, video: false }, { maxPeers: 1 }, { stream: {} }]) {
        try { await window.t.room.call(opts); out.push('resolved'); } catch (err) { out.push(`${err.name}: ${err.message}`); }
      }
      return out;
    });
    assert.deepEqual(bad.map((m) => m.split(':')[0]), ['TypeError', 'TypeError', 'TypeError']);
  } finally {
    await closeAll(pages);
  }

  // A room that relays everything (relay 'always'): no RTCPeerConnection, so no media, said clearly.
  const relayed = newRoom();
  const two = [await libraryPage(), await libraryPage()];
  try {
    const start = (p, wait) => p.page.evaluate(async ([roomName, wait]) => {
      const { joinRoom } = await import('/dist/roomsync.browser.js');
      const room = await joinRoom({ signaling: '/socket', room: roomName, relay: 'always' });
      const canvas = Object.assign(document.createElement('canvas'), { width: 64, height: 48 });
      if (wait) await new Promise((r) => { const check = () => (room.getPeers().length >= 1 ? r() : setTimeout(check, 50)); check(); });
      const call = await room.call({ stream: canvas.captureStream(5) });
      window.t = { room, call, log: [] };
      call.on('error', (err) => window.t.log.push(err.code));
    }, [relayed, wait]);
    await start(two[0], false);
    await start(two[1], true);
    for (const p of two) {
      await waitUntil(() => p.page.evaluate(() => window.t.call.peers()[0]?.media === 'unreachable'), { message: 'the other member to be unreachable' });
      assert.deepEqual(await p.page.evaluate(() => window.t.log), ['no_media_route']);
    }
  } finally {
    await closeAll(two);
  }
});
