// Rooms in real browsers: pages of the chat (www/chat.html, on the shared page shell www/shell.js)
// join rooms through our signaling server and talk over real WebRTC data channels, in headless
// Chromium (one browser for the file, one context per person): three at once, a late joiner, a
// page that goes offline, room passwords, the server unreachable or crashing. Run inside the
// private network namespace, as scripts/test.sh does:
//   scripts/netns.sh node --test tests/e2e/
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';

import { startBrowserAndServer, waitUntil } from './helpers/browser.js';
import { bannerOf, converged, openPerson, peopleOf, say, statusOf, textsOf, waitForPeople } from './helpers/chat-page.js';

let env;
before(async () => {
  env = await startBrowserAndServer();
});
after(async () => {
  await env?.close();
});

let rooms = 0;
const newRoom = () => `e2e-${process.pid}-${++rooms}`;
const open = (opts) => openPerson(env.browser, env.server, opts);
const closeAll = (people) => Promise.all(people.map((p) => p.context.close()));
const sorted = (list) => [...list].sort();

test('three pages chat at once and converge; each shows the others with name, colour, data channel route and sync', { timeout: 180_000 }, async () => {
  const room = newRoom();
  const ada = await open({ name: 'Ada', room });
  const bo = await open({ name: 'Bo', room });
  const cy = await open({ name: 'Cy', room });
  const people = [ada, bo, cy];
  try {
    // Real WebRTC: every pair ends on a data channel (ICE may need a retry on a loaded machine).
    for (const p of people) await waitForPeople(p, ['Ada', 'Bo', 'Cy'], { route: 'datachannel', timeoutMs: 90_000 });
    // Each page shows every person in the colour that person shows for itself.
    const own = Object.fromEntries(await Promise.all(people.map(async (p) => [p.name, (await peopleOf(p)).find((r) => r.self).color])));
    for (const p of people) {
      const seen = Object.fromEntries((await peopleOf(p)).map((r) => [r.name, r.color]));
      assert.deepEqual(seen, own, `${p.name}'s colours`);
    }
    for (const p of people) assert.equal(await statusOf(p), 'synced');
    assert.equal(await ada.page.$eval('#status-text', (el) => el.textContent), 'Synced · 3 people');

    // All three send at once, twice: every page ends with the same six messages in the same order.
    await Promise.all(people.map((p) => say(p, `${p.name} one`).then(() => say(p, `${p.name} two`))));
    const all = await converged(people, { count: 6 });
    assert.deepEqual(sorted(all), ['Ada one', 'Ada two', 'Bo one', 'Bo two', 'Cy one', 'Cy two']);
    for (const name of ['Ada', 'Bo', 'Cy']) assert.ok(all.indexOf(`${name} one`) < all.indexOf(`${name} two`), `${name}'s own order in ${all}`);
    for (const p of people) assert.deepEqual(p.errors, []);
  } finally {
    await closeAll(people);
  }
});

test('a late joiner gets a long history, and the others see it arrive', { timeout: 180_000 }, async () => {
  const room = newRoom();
  const ada = await open({ name: 'Ada', room });
  const bo = await open({ name: 'Bo', room });
  const people = [ada, bo];
  try {
    await waitForPeople(ada, ['Ada', 'Bo']);
    await say(ada, 'Agenda?');
    await say(bo, '1. budget 💶');
    // A long history too (200 KB: more than one frame's worth of sync): 400 messages in one go.
    await ada.page.evaluate(() => {
      const list = window.shell.room.doc.getList('messages');
      const t = Date.now();
      list.push(...Array.from({ length: 400 }, (_, i) => ({ id: `bulk-${i}`, content: `line ${i} ${'x'.repeat(500)}`, user_id: 'bulk', room_id: 'r', timestamp: t + i, name: 'Script' })));
    });
    const before = await converged(people, { count: 402 });

    const late = await open({ name: 'Late', room });
    people.push(late);
    await waitUntil(async () => JSON.stringify(await textsOf(late)) === JSON.stringify(before), { timeoutMs: 30_000, message: 'the late joiner to show the history' });
    for (const p of people) await waitForPeople(p, ['Ada', 'Bo', 'Late']);
    await say(late, '2. venue');
    assert.deepEqual((await converged(people, { count: 403 })).slice(-2), ['line 399 ' + 'x'.repeat(500), '2. venue']);
  } finally {
    await closeAll(people);
  }
});

test('a page that goes offline keeps writing, and resyncs both ways when it comes back', { timeout: 180_000 }, async () => {
  const room = newRoom();
  const ada = await open({ name: 'Ada', room });
  const bo = await open({ name: 'Bo', room });
  const cy = await open({ name: 'Cy', room });
  const people = [ada, bo, cy];
  try {
    for (const p of people) await waitForPeople(p, ['Ada', 'Bo', 'Cy']);
    await say(ada, 'shared start');
    await converged(people, { count: 1 });

    await cy.page.click('#online'); // Go offline: Cy leaves the room; its document stays
    assert.deepEqual(await cy.page.$eval('#online', (b) => [b.querySelector('.long').textContent, b.getAttribute('aria-pressed')]), ['Go online', 'true']);
    for (const p of [ada, bo]) await waitForPeople(p, ['Ada', 'Bo']);
    assert.equal(await statusOf(cy), 'offline');
    await say(cy, 'cy offline');
    await say(ada, 'ada meanwhile');
    await say(bo, 'bo meanwhile');
    await converged([ada, bo], { count: 3 });
    assert.deepEqual(await textsOf(cy), ['shared start', 'cy offline'], 'nothing reached the offline page');

    await cy.page.click('#online');
    for (const p of people) await waitForPeople(p, ['Ada', 'Bo', 'Cy']);
    const all = await converged(people, { count: 4 });
    assert.deepEqual(sorted(all), ['ada meanwhile', 'bo meanwhile', 'cy offline', 'shared start']);
    for (const p of people) assert.equal(await statusOf(p), 'synced');
    for (const p of people) assert.deepEqual(p.errors, []);
  } finally {
    await closeAll(people);
  }
});

test('a room password: a page without it or with a wrong one is refused with a clear error and gets nothing', { timeout: 180_000 }, async () => {
  const room = newRoom();
  const ada = await open({ name: 'Ada', room, password: 'correct horse' });
  const people = [ada];
  try {
    await say(ada, 'the secret plan');
    const bo = await open({ name: 'Bo', room });
    people.push(bo);
    await waitUntil(async () => (await bannerOf(bo))?.kind === 'password', { message: 'Bo: password banner' });
    assert.equal((await bannerOf(bo)).title, 'This room needs a password.');
    // Bo enters the right password: connected, synced.
    await bo.page.click('#banner-action');
    await bo.page.fill('#join-password', 'correct horse');
    await bo.page.click('#join');
    await waitForPeople(bo, ['Ada', 'Bo']);
    await waitForPeople(ada, ['Ada', 'Bo']);
    assert.equal(await bannerOf(bo), null);
    await converged([ada, bo], { count: 1 });

    const eve = await open({ name: 'Eve', room, password: 'letmein' });
    people.push(eve);
    await waitUntil(async () => (await bannerOf(eve))?.title === 'Wrong password.', { message: 'Eve: wrong password banner' });
    await waitUntil(async () => /2 people in “e2e-[^”]+” use a different password/.test((await bannerOf(eve)).text), { message: 'Eve: both peers named in the banner' });
    assert.equal(await statusOf(eve), 'error');
    await waitUntil(async () => (await peopleOf(eve)).filter((r) => r.refused).length === 2, { message: 'Eve: both peers refused' });
    await waitUntil(async () => (await peopleOf(ada)).some((r) => r.name === 'Someone' && r.refused), { message: 'Ada: Eve refused' });
    await say(ada, 'still secret');
    await converged([ada, bo], { count: 2 });
    assert.deepEqual(await textsOf(eve), [], 'nothing of the room reached the page with the wrong password');
    for (const p of people) assert.deepEqual(p.errors, []);
  } finally {
    await closeAll(people);
  }
});

test('the server unreachable: a clear error, local messages kept, and the page joins once it is back', { timeout: 180_000 }, async () => {
  const room = newRoom();
  const ada = await open({ name: 'Ada', room });
  const context = await env.browser.newContext();
  let blocked = true;
  await context.routeWebSocket(/\/socket\//, (ws) => (blocked ? ws.close() : ws.connectToServer()));
  const bo = await openPerson(env.browser, env.server, { name: 'Bo', room, context });
  try {
    await waitUntil(async () => (await bannerOf(bo))?.kind === 'server', { message: 'server banner' });
    assert.equal((await bannerOf(bo)).title, 'Can’t reach the server.');
    assert.equal(await statusOf(bo), 'error');
    await say(bo, 'written offline');
    await say(ada, 'ada online');

    blocked = false;
    await bo.page.click('#banner-action'); // Retry now
    await waitForPeople(bo, ['Ada', 'Bo']);
    assert.equal(await bannerOf(bo), null);
    assert.deepEqual(sorted(await converged([ada, bo], { count: 2 })), ['ada online', 'written offline']);
  } finally {
    await closeAll([ada, bo]);
  }
});

// A server in a process of its own, so that it can crash (SIGKILL: no goodbyes, no presence
// updates) and come back on the same port, leaving the other tests' server alone.
async function serverProcess(port = 0) {
  if (port === 0) {
    const probe = net.createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    port = probe.address().port;
    await new Promise((r) => probe.close(r));
  }
  const child = spawn(process.execPath, [fileURLToPath(new URL('../../js/cli.js', import.meta.url)), 'serve', '--port', String(port), '--log-level', 'silent'], { stdio: 'ignore' });
  const httpUrl = `http://127.0.0.1:${port}`;
  await waitUntil(() => fetch(`${httpUrl}/healthz`).then((r) => r.ok, () => false), { message: 'the server process to listen' });
  return { port, httpUrl, child, kill: () => (child.exitCode === null ? (child.kill('SIGKILL'), once(child, 'exit')) : null) };
}

test('the signaling server crashes: pages keep chatting over their data channels, and rejoin when it is back', { timeout: 180_000 }, async () => {
  let server = await serverProcess();
  const room = newRoom();
  const ada = await openPerson(env.browser, server, { name: 'Ada', room });
  const bo = await openPerson(env.browser, server, { name: 'Bo', room });
  const people = [ada, bo];
  try {
    for (const p of people) await waitForPeople(p, ['Ada', 'Bo'], { route: 'datachannel', timeoutMs: 90_000 });
    await say(ada, 'before');
    await converged(people, { count: 1 });

    await server.kill();
    for (const p of people) {
      let seen;
      await waitUntil(async () => (seen = await p.page.$eval('#status-text', (el) => el.textContent)) === 'Server offline · peers still linked', { message: `${p.name}: server offline` })
        .catch(async (err) => {
          err.message += ` (status: ${seen}; people: ${JSON.stringify(await peopleOf(p))})`;
          throw err;
        });
    }
    await say(bo, 'during the outage');
    assert.deepEqual(await converged(people, { count: 2 }), ['before', 'during the outage'], 'messages still travel peer to peer');

    server = await serverProcess(server.port);
    for (const p of people) await waitUntil(async () => (await statusOf(p)) === 'synced' && (await p.page.$eval('#status-text', (el) => el.textContent)) === 'Synced · 2 people', { timeoutMs: 60_000, message: `${p.name}: synced with the server again` });
    await say(ada, 'after');
    assert.deepEqual(await converged(people, { count: 3 }), ['before', 'during the outage', 'after']);
    // Both back in the server's presence: each sees the other again (it may have left and
    // rejoined the room meanwhile: they come back to the new server one after the other).
    for (const p of people) await waitForPeople(p, ['Ada', 'Bo'], { timeoutMs: 60_000 });
    for (const p of people) assert.deepEqual(p.errors, []);
  } finally {
    await closeAll(people);
    await server.kill();
  }
});
