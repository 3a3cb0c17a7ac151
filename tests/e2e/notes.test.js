// The shared-notes demo (www/) as a person uses it: our server serves the page, tabs join a room
// over WebRTC (joinRoom), type, rename themselves, switch rooms, and the page fits a phone.
// Headless Debian Chromium via playwright-core, inside the private network namespace:
//   scripts/netns.sh node --test tests/e2e/
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import { startBrowserAndServer, waitUntil } from './helpers/browser.js';
import { converged, joinWith, noteText, openPerson, peopleOf, statusOf, typeAt, waitForPeople } from './helpers/notes-page.js';

const SHOTS = new URL('../../bench-results/screenshots/', import.meta.url);

let env;
before(async () => {
  env = await startBrowserAndServer();
  await mkdir(SHOTS, { recursive: true });
});
after(async () => {
  await env?.close();
});

const open = (opts) => openPerson(env.browser, env.server, opts);
const shot = (p, name) => p.page.screenshot({ path: new URL(name, SHOTS).pathname, fullPage: true });

test('alone, then two tabs edit one note (emoji and backspace included); a late tab catches up', { timeout: 180_000 }, async () => {
  const room = `notes-${process.pid}`;
  const a = await open({ name: 'Ada', color: '#6e56cf', room });
  const people = [a];
  try {
    await waitUntil(async () => (await statusOf(a)) === 'live', { message: 'live' });
    assert.equal(await a.page.$eval('#alone', (el) => el.hidden), false, 'the empty state says you are alone');
    assert.equal(await a.page.$eval('#status-text', (el) => el.textContent), 'Live · just you');
    assert.equal(await a.page.$eval('#room-title', (el) => el.textContent), room);

    const b = await open({ name: 'Bo', color: '#30a46c', room });
    people.push(b);
    for (const p of people) await waitForPeople(p, ['Ada', 'Bo']);
    assert.equal(await a.page.$eval('#alone', (el) => el.hidden), true);
    assert.equal(await a.page.$eval('#status-text', (el) => el.textContent), 'Live · 2 people');

    await typeAt(a, 0, 'Hello from A. ');
    await waitUntil(async () => (await noteText(b)) === 'Hello from A. ', { message: 'B sees A' });
    await typeAt(b, -1, 'And B 😀 here.');
    const both = await converged(people);
    assert.equal(both, 'Hello from A. And B 😀 here.');
    // Concurrent typing at the two ends, then a backspace right after the emoji.
    await Promise.all([typeAt(a, 0, '>> '), typeAt(b, -1, ' <<')]);
    await b.page.$eval('#notes', (el) => { el.focus(); const i = el.value.indexOf('😀') + 2; el.setSelectionRange(i, i); });
    await b.page.keyboard.press('Backspace');
    assert.equal(await converged(people), '>> Hello from A. And B  here. <<');
    assert.equal(await a.page.$eval('#counter', (el) => el.textContent), '32 characters');

    const c = await open({ name: 'Cy', color: '#f76b15', room });
    people.push(c);
    await waitUntil(async () => (await noteText(c)) === '>> Hello from A. And B  here. <<', { message: 'the late tab catches up' });
    await shot(a, 'notes-desktop.png');
    for (const p of people) assert.deepEqual(p.errors, []);
  } finally {
    await Promise.all(people.map((p) => p.context.close()));
  }
});

test('a new name shows on the other tabs at once; another room starts a separate note; a bad room name is explained', { timeout: 180_000 }, async () => {
  const room = `names-${process.pid}`;
  const a = await open({ name: 'Ada', room });
  const b = await open({ name: 'Bo', room });
  try {
    await waitForPeople(b, ['Ada', 'Bo']);
    await typeAt(a, 0, 'in the first room');
    await a.page.fill('#name', 'Ada L.');
    await waitForPeople(b, ['Ada L.', 'Bo']);

    await joinWith(b, { room: `${room}-2` });
    await waitUntil(async () => (await b.page.evaluate(() => [location.hash, document.getElementById('room-title').textContent])).join() === `#${room}-2,${room}-2` &&
      (await statusOf(b)) === 'live', { message: 'B in the other room' });
    assert.equal(await noteText(b), '', 'a new room has its own note');
    await waitForPeople(a, ['Ada L.']);

    await joinWith(b, { room: 'no spaces allowed' }); // the form's pattern refuses it
    assert.equal(await b.page.$eval('#room', (el) => el.validity.valid), false);
    await b.page.goto(`${env.server.httpUrl}/#bad%20room`);
    await waitUntil(() => b.page.$eval('#banner', (el) => !el.hidden && el.dataset.kind === 'room'), { message: 'bad room banner' });
    assert.equal(await b.page.$eval('#banner-title', (el) => el.textContent), 'That room name doesn’t work.');
    assert.equal(await statusOf(b), 'error');
  } finally {
    await Promise.all([a.context.close(), b.context.close()]);
  }
});

test('on a phone (390 px) the page fits the width and shows every part', { timeout: 180_000 }, async () => {
  const room = `phone-${process.pid}`;
  const a = await open({ name: 'Ada', room });
  const phone = await open({ name: 'Bo', room, viewport: { width: 390, height: 844 } });
  try {
    await waitForPeople(phone, ['Ada', 'Bo']);
    await typeAt(a, 0, 'Short list:\n- milk\n- bread\n');
    await waitUntil(async () => (await noteText(phone)).includes('bread'), { message: 'phone has the text' });
    const layout = await phone.page.evaluate(() => {
      const box = (id) => document.getElementById(id).getBoundingClientRect();
      return { scrollWidth: document.documentElement.scrollWidth, notes: box('notes'), peers: box('peers'), join: box('join') };
    });
    assert.ok(layout.scrollWidth <= 390, `no horizontal scrolling (scrollWidth ${layout.scrollWidth})`);
    assert.ok(layout.notes.width > 300, 'the editor takes the width');
    assert.ok(layout.peers.top > layout.notes.bottom, 'people come below the editor');
    assert.ok(layout.join.right <= 390);
    assert.equal((await peopleOf(phone)).length, 2);
    await shot(phone, 'notes-phone.png');
  } finally {
    await Promise.all([a.context.close(), phone.context.close()]);
  }
});
