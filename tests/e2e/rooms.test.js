// Rooms in real browsers: pages of the shared-notes demo (www/) join rooms through our signaling
// server and talk over real WebRTC data channels, in headless Chromium (one browser for the file,
// one context per person). Run inside the private network namespace, as scripts/test.sh does:
//   scripts/netns.sh node --test tests/e2e/
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';


import { startBrowserAndServer, waitUntil } from './helpers/browser.js';
import { converged, joinWith, noteText, openPerson, peopleOf, statusOf, typeAt, waitForPeople } from './helpers/notes-page.js';

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

test('three pages edit one text at once and converge; each shows the others with name, colour, data channel route and sync', { timeout: 180_000 }, async () => {
  const room = newRoom();
  const ada = await open({ name: 'Ada', color: '#6e56cf', room });
  const bo = await open({ name: 'Bo', color: '#30a46c', room });
  const cy = await open({ name: 'Cy', color: '#f76b15', room });
  const people = [ada, bo, cy];
  try {
    // Real WebRTC: every pair ends on a data channel (ICE may need a retry on a loaded machine).
    for (const p of people) await waitForPeople(p, ['Ada', 'Bo', 'Cy'], { route: 'datachannel', timeoutMs: 90_000 });
    const seenByAda = Object.fromEntries((await peopleOf(ada)).map((r) => [r.name, [r.color, r.self]]));
    assert.deepEqual(seenByAda, { Ada: ['#6e56cf', true], Bo: ['#30a46c', false], Cy: ['#f76b15', false] });
    for (const p of people) assert.equal(await statusOf(p), 'live');

    await typeAt(ada, 0, 'middle');
    await converged(people);
    // All three type at once: Ada before the text, Bo inside it, Cy after it.
    await Promise.all([typeAt(ada, 0, 'Ada was here. '), typeAt(bo, 3, '[Bo]'), typeAt(cy, -1, ' Cy too.')]);
    const text = await converged(people);
    assert.equal(text.length, 'middle'.length + 'Ada was here. '.length + '[Bo]'.length + ' Cy too.'.length);
    for (const part of ['Ada was here. ', '[Bo]', ' Cy too.']) assert.ok(text.includes(part), `${JSON.stringify(part)} in ${JSON.stringify(text)}`);
    assert.ok(text.includes('mid[Bo]dle') && text.startsWith('Ada was here. ') && text.endsWith(' Cy too.'), text);

    // Deleting works the same way: a selection replaced by typing, backspaces.
    await bo.page.$eval('#notes', (el) => { el.focus(); el.setSelectionRange(0, 3); });
    await bo.page.keyboard.type('ADA');
    await bo.page.keyboard.press('End');
    await bo.page.keyboard.press('Backspace');
    const after = await converged(people);
    assert.ok(after.startsWith('ADA was here. ') && after.endsWith(' Cy too'), after);
    for (const p of people) assert.deepEqual(p.errors, []);
  } finally {
    await closeAll(people);
  }
});

test('typing shows on the other pages and clears itself after the last keystroke', { timeout: 180_000 }, async () => {
  const room = newRoom();
  const ada = await open({ name: 'Ada', room });
  const bo = await open({ name: 'Bo', room });
  const cy = await open({ name: 'Cy', room });
  const people = [ada, bo, cy];
  try {
    for (const p of people) await waitForPeople(p, ['Ada', 'Bo', 'Cy']);
    const typingRow = (p, name) => peopleOf(p).then((rows) => rows.find((r) => r.name === name)?.typing);
    const line = (p) => p.page.$eval('#typing', (el) => el.textContent);

    await typeAt(bo, 0, 'hello');
    for (const p of [ada, cy]) {
      await waitUntil(() => typingRow(p, 'Bo'), { message: `${p.name} to show Bo typing` });
      assert.equal(await line(p), 'Bo is typing…');
    }
    assert.equal(await line(bo), '', 'nobody else is typing');
    // Nobody clears it: Bo just stops typing. The indicator goes away by itself (3 s after the
    // last keystroke), and the text stays.
    for (const p of [ada, cy]) {
      await waitUntil(async () => !(await typingRow(p, 'Bo')) && (await line(p)) === '', { timeoutMs: 15_000, message: `${p.name}: Bo's typing to clear` });
    }
    assert.equal(await noteText(ada), 'hello');

    // Two at once: both show, then both clear.
    await Promise.all([typeAt(ada, -1, ' a'), typeAt(cy, -1, ' c')]);
    await waitUntil(async () => (await line(bo)) === 'Ada and Cy are typing…' || (await line(bo)) === 'Cy and Ada are typing…', { message: 'two typing' });
    await waitUntil(async () => (await line(bo)) === '', { timeoutMs: 15_000, message: 'both typing indicators to clear' });
    await converged(people);
  } finally {
    await closeAll(people);
  }
});

test('a 5 MB file goes from one page to the others with progress on both sides, intact', { timeout: 180_000 }, async () => {
  const room = newRoom();
  const ada = await open({ name: 'Ada', room });
  const bo = await open({ name: 'Bo', room });
  const cy = await open({ name: 'Cy', room });
  const people = [ada, bo, cy];
  try {
    for (const p of people) await waitForPeople(p, ['Ada', 'Bo', 'Cy']);
    // Record every progress value each page shows (a transfer row's data-progress).
    for (const p of people) {
      await p.page.evaluate(() => {
        window.progressSeen = [];
        new MutationObserver((records) => {
          for (const r of records) if (r.target.dataset?.progress) window.progressSeen.push([r.target.dataset.direction, Number(r.target.dataset.progress)]);
        }).observe(document.getElementById('transfers'), { subtree: true, attributes: true, attributeFilter: ['data-progress'] });
      });
    }
    const bytes = randomBytes(5 * 1024 * 1024);
    const sha = createHash('sha256').update(bytes).digest('hex');
    await ada.page.setInputFiles('#file', { name: 'photos.bin', mimeType: 'application/octet-stream', buffer: bytes });

    const rowState = (p) => p.page.$eval('#transfers .transfer', (li) => li.dataset.state).catch(() => null);
    await waitUntil(async () => (await rowState(ada)) === 'sent', { timeoutMs: 90_000, message: 'Ada: sent' });
    for (const p of [bo, cy]) await waitUntil(async () => (await rowState(p)) === 'received', { timeoutMs: 90_000, message: `${p.name}: received` });

    const partial = (list, dir) => list.filter(([d, f]) => d === dir && f > 0 && f < 1).length;
    const adaSeen = await ada.page.evaluate(() => window.progressSeen);
    assert.ok(partial(adaSeen, 'out') >= 2, `sender progress ${JSON.stringify(adaSeen.slice(0, 20))}`);
    for (const p of [bo, cy]) {
      const seen = await p.page.evaluate(() => window.progressSeen);
      assert.ok(partial(seen, 'in') >= 2, `${p.name}: receiver progress ${JSON.stringify(seen.slice(0, 20))}`);
      // The received bytes (the Download link's blob) are the sent ones.
      const got = await p.page.$eval('#transfers .transfer a[download]', async (a) => {
        const buf = await (await fetch(a.href)).arrayBuffer();
        const hash = await crypto.subtle.digest('SHA-256', buf);
        return { name: a.download, size: buf.byteLength, sha: [...new Uint8Array(hash)].map((b) => b.toString(16).padStart(2, '0')).join('') };
      });
      assert.deepEqual(got, { name: 'photos.bin', size: bytes.length, sha });
      assert.match(await p.page.$eval('#transfers .transfer-sub', (el) => el.textContent), /^from Ada · 5\.2 MB$/);
    }
    assert.match(await ada.page.$eval('#transfers .transfer-sub', (el) => el.textContent), /^sent to 2 people · 5\.2 MB$/);
    for (const p of people) assert.deepEqual(p.errors, []);
  } finally {
    await closeAll(people);
  }
});

test('a late joiner catches up, and the others see it arrive', { timeout: 180_000 }, async () => {
  const room = newRoom();
  const ada = await open({ name: 'Ada', room });
  const bo = await open({ name: 'Bo', room });
  const people = [ada, bo];
  try {
    await waitForPeople(ada, ['Ada', 'Bo']);
    await typeAt(ada, 0, 'Agenda:\n');
    await typeAt(bo, -1, '1. budget 💶\n');
    // A long text too (more than one frame's worth of sync).
    await ada.page.evaluate(() => window.notes.doc.getText('notes').insert(0, 'x'.repeat(300_000)));
    const before = await converged(people);

    const late = await open({ name: 'Late', room });
    people.push(late);
    await waitUntil(async () => (await noteText(late)) === before, { timeoutMs: 30_000, message: 'the late joiner to show the text' });
    for (const p of people) await waitForPeople(p, ['Ada', 'Bo', 'Late']);
    await typeAt(late, -1, '2. venue\n');
    assert.ok((await converged(people)).endsWith('1. budget 💶\n2. venue\n'));
  } finally {
    await closeAll(people);
  }
});

test('a page that goes offline keeps editing, and resyncs both ways when it comes back', { timeout: 180_000 }, async () => {
  const room = newRoom();
  const ada = await open({ name: 'Ada', room });
  const bo = await open({ name: 'Bo', room });
  const cy = await open({ name: 'Cy', room });
  const people = [ada, bo, cy];
  try {
    for (const p of people) await waitForPeople(p, ['Ada', 'Bo', 'Cy']);
    await typeAt(ada, 0, 'shared start.');
    await converged(people);

    await cy.page.click('#online'); // Go offline: Cy leaves the room; its document stays
    assert.equal(await cy.page.$eval('#online', (b) => b.textContent), 'Go online');
    for (const p of [ada, bo]) await waitForPeople(p, ['Ada', 'Bo']);
    assert.equal(await statusOf(cy), 'offline');
    await typeAt(cy, -1, ' [cy offline]');
    await typeAt(ada, 0, '[ada meanwhile] ');
    await typeAt(bo, -1, ' [bo meanwhile]');
    await waitUntil(async () => (await noteText(ada)) === (await noteText(bo)) && (await noteText(ada)).includes('bo meanwhile'), { message: 'ada and bo' });
    assert.equal(await noteText(cy), 'shared start. [cy offline]', 'nothing reached the offline page');

    await cy.page.click('#online');
    for (const p of people) await waitForPeople(p, ['Ada', 'Bo', 'Cy']);
    const text = await converged(people);
    // Cy's and Bo's inserts at the same place: the CRDT orders them the same on every page.
    assert.ok(['[ada meanwhile] shared start. [cy offline] [bo meanwhile]', '[ada meanwhile] shared start. [bo meanwhile] [cy offline]'].includes(text), text);
    for (const p of people) assert.equal(await statusOf(p), 'live');
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
    await typeAt(ada, 0, 'the secret plan');
    const bo = await open({ name: 'Bo', room });
    people.push(bo);
    const banner = (p) => p.page.$eval('#banner', (el) => (el.hidden ? null : { kind: el.dataset.kind, title: el.querySelector('#banner-title').textContent, text: el.querySelector('#banner-text').textContent }));
    await waitUntil(async () => (await banner(bo))?.kind === 'password', { message: 'Bo: password banner' });
    assert.equal((await banner(bo)).title, 'This room needs a password.');
    // Bo enters the right password: connected, synced.
    await joinWith(bo, { password: 'correct horse' });
    await waitForPeople(bo, ['Ada', 'Bo']);
    await waitForPeople(ada, ['Ada', 'Bo']);
    assert.equal(await banner(bo), null);
    await converged([ada, bo]);

    const eve = await open({ name: 'Eve', room, password: 'letmein' });
    people.push(eve);
    await waitUntil(async () => (await banner(eve))?.title === 'Wrong password.', { message: 'Eve: wrong password banner' });
    assert.match((await banner(eve)).text, /2 people in “e2e-[^”]+” use a different password/);
    assert.equal(await statusOf(eve), 'error');
    await waitUntil(async () => (await peopleOf(eve)).filter((r) => r.refused).length === 2, { message: 'Eve: both peers refused' });
    await waitUntil(async () => (await peopleOf(ada)).some((r) => r.name === 'Someone' && r.refused), { message: 'Ada: Eve refused' });
    await typeAt(ada, -1, ' (still secret)');
    await converged([ada, bo]);
    assert.equal(await noteText(eve), '', 'nothing of the room reached the page with the wrong password');
    for (const p of people) assert.deepEqual(p.errors, []);
  } finally {
    await closeAll(people);
  }
});

test('the server unreachable: a clear error, local edits kept, and the page joins once it is back', { timeout: 180_000 }, async () => {
  const room = newRoom();
  const ada = await open({ name: 'Ada', room });
  const context = await env.browser.newContext();
  await context.addInitScript(() => localStorage.setItem('roomsync.name', 'Bo'));
  let blocked = true;
  await context.routeWebSocket(/\/socket\//, (ws) => (blocked ? ws.close() : ws.connectToServer()));
  const page = await context.newPage();
  const bo = { name: 'Bo', page, context, errors: [] };
  try {
    await page.goto(`${env.server.httpUrl}/#${room}`);
    await waitUntil(() => page.$eval('#banner', (el) => !el.hidden && el.dataset.kind === 'server'), { message: 'server banner' });
    assert.equal(await page.$eval('#banner-title', (el) => el.textContent), 'Can’t reach the server.');
    assert.equal(await statusOf(bo), 'error');
    await typeAt(bo, 0, 'written offline. ');
    await typeAt(ada, 0, 'ada online. ');

    blocked = false;
    await page.click('#banner-action'); // Retry now
    await waitForPeople(bo, ['Ada', 'Bo']);
    assert.equal(await page.$eval('#banner', (el) => el.hidden), true);
    const text = await converged([ada, bo]);
    assert.ok(text.includes('written offline. ') && text.includes('ada online. '), text);
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

test('the signaling server crashes: pages keep editing over their data channels, and rejoin when it is back', { timeout: 180_000 }, async () => {
  let server = await serverProcess();
  const room = newRoom();
  const ada = await openPerson(env.browser, server, { name: 'Ada', room });
  const bo = await openPerson(env.browser, server, { name: 'Bo', room });
  const people = [ada, bo];
  try {
    for (const p of people) await waitForPeople(p, ['Ada', 'Bo'], { route: 'datachannel', timeoutMs: 90_000 });
    await typeAt(ada, 0, 'before.');
    await converged(people);

    await server.kill();
    for (const p of people) {
      let seen;
      await waitUntil(async () => (seen = await p.page.$eval('#status-text', (el) => el.textContent)) === 'Server offline · peers still linked', { message: `${p.name}: server offline` })
        .catch(async (err) => {
          err.message += ` (status: ${seen}; people: ${JSON.stringify(await peopleOf(p))})`;
          throw err;
        });
    }
    await typeAt(bo, -1, ' during the outage.');
    assert.equal(await converged(people), 'before. during the outage.', 'edits still travel peer to peer');

    server = await serverProcess(server.port);
    for (const p of people) await waitUntil(async () => (await statusOf(p)) === 'live', { timeoutMs: 60_000, message: `${p.name}: live again` });
    await typeAt(ada, -1, ' after.');
    assert.equal(await converged(people), 'before. during the outage. after.');
    // Both back in the server's presence: each sees the other again (it may have left and
    // rejoined the room meanwhile: they come back to the new server one after the other).
    for (const p of people) await waitForPeople(p, ['Ada', 'Bo'], { timeoutMs: 60_000 });
    for (const p of people) assert.deepEqual(p.errors, []);
  } finally {
    await closeAll(people);
    await server.kill();
  }
});
