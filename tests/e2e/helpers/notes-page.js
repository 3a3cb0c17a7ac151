// Drives the shared-notes demo (www/) the way a person does, one browser context per person,
// and reads what the page shows. Used by tests/e2e/*.test.js.
import { waitUntil } from './browser.js';

/** A person opening the demo in its own browser context (own storage, own WebRTC stack). */
export async function openPerson(browser, server, { name, color = '#0090ff', room, viewport = { width: 1100, height: 800 }, password } = {}) {
  const context = await browser.newContext({ viewport });
  await context.addInitScript(([n, c]) => {
    localStorage.setItem('roomsync.name', n);
    localStorage.setItem('roomsync.color', c);
  }, [name, color]);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`${server.httpUrl}/#${encodeURIComponent(room)}`);
  await waitUntil(() => page.evaluate(() => window.notes?.room != null || document.getElementById('status').dataset.state === 'error'),
    { timeoutMs: 60_000, message: `${name}'s page to join` });
  const person = { name, page, context, errors, peerId: () => page.evaluate(() => window.notes.room?.peerId) };
  if (password !== undefined) await joinWith(person, { password });
  return person;
}

/** Fills the Room form and joins (again). */
export async function joinWith(person, { room, password }) {
  if (room !== undefined) await person.page.fill('#room', room);
  if (password !== undefined) await person.page.fill('#password', password);
  await person.page.click('#join');
}

export const noteText = (p) => p.page.$eval('#notes', (el) => el.value);
export const docText = (p) => p.page.evaluate(() => window.notes.doc.getText('notes').toString());
export const statusOf = (p) => p.page.$eval('#status', (el) => el.dataset.state);

/** The people list as the page shows it: [{ peer, name, self, typing, route, sync, refused }]. */
export const peopleOf = (p) => p.page.$$eval('#peers .peer', (rows) => rows.map((li) => ({
  peer: li.dataset.peer,
  name: li.querySelector('.name').textContent,
  color: li.querySelector('.avatar').style.getPropertyValue('--c'),
  self: li.classList.contains('self'),
  typing: li.classList.contains('is-typing'),
  route: li.querySelector('[data-route]')?.dataset.route ?? null,
  sync: li.querySelector('[data-sync]')?.dataset.sync ?? null,
  refused: li.querySelector('.badge.bad') !== null,
})));

/**
 * Waits until `p` lists exactly `names` (self included), each other peer in sync and reached on a
 * channel of its own: `route` 'datachannel' (WebRTC), or 'direct' (a data channel, or the server
 * relay the room uses until one opens; on a loaded machine ICE may need a retry).
 */
export async function waitForPeople(p, names, { route = 'direct', timeoutMs = 30_000 } = {}) {
  const routeOk = (r) => (route === 'direct' ? r === 'datachannel' || r === 'relay' : r === route);
  const want = [...names].sort().join(', ');
  let seen;
  await waitUntil(async () => {
    seen = await peopleOf(p);
    return seen.map((r) => r.name).sort().join(', ') === want &&
      seen.every((r) => r.self || (routeOk(r.route) && r.sync === 'synced'));
  }, { timeoutMs, message: `${p.name} to list ${want}, ${route} and in sync` }).catch((err) => {
    err.message += `; last seen: ${JSON.stringify(seen)}`;
    throw err;
  });
}

/** Puts the caret at `pos` and types like a person (one key event per character). */
export async function typeAt(p, pos, text, delay = 5) {
  await p.page.$eval('#notes', (el, at) => {
    el.focus();
    const i = at < 0 ? el.value.length : at;
    el.setSelectionRange(i, i);
  }, pos);
  await p.page.keyboard.type(text, { delay });
}

/** Waits until every page shows the same text (and its document holds it); returns it. */
export async function converged(people, { timeoutMs = 30_000 } = {}) {
  let texts;
  await waitUntil(async () => {
    texts = await Promise.all(people.map((p) => noteText(p)));
    const docs = await Promise.all(people.map((p) => docText(p)));
    return texts.every((t, i) => t === texts[0] && docs[i] === t);
  }, { timeoutMs, message: 'every page to show the same text' }).catch((err) => {
    err.message += `; texts: ${JSON.stringify(texts)}`;
    throw err;
  });
  return texts[0];
}
