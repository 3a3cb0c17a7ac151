// Drives the chat page (www/chat.html) the way a person does, one browser context per person,
// and reads what the page shows (the shell's status pill, peers list and banner included).
// Used by tests/e2e/chat.test.js and tests/e2e/rooms.test.js.
import { waitUntil } from './browser.js';

/**
 * A person opening the chat in its own browser context (own storage, own WebRTC stack).
 * With a password, the page opens without ?name= and the join form is filled in.
 * `query` adds URL parameters (e.g. { idle: 1500 }).
 */
export async function openPerson(browser, server, { name, room, viewport = { width: 1100, height: 800 }, password, query = {}, context } = {}) {
  context ??= await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  const person = { name, page, context, errors, peerId: () => page.evaluate(() => window.shell?.room?.peerId) };
  const q = new URLSearchParams({ room, ...query });
  if (password === undefined) q.set('name', name);
  await page.goto(`${server.httpUrl}/chat.html?${q}`);
  if (password !== undefined) {
    await page.fill('#join-name', name);
    await page.fill('#join-password', password);
    await page.click('#join');
  }
  await waitUntil(() => page.evaluate(() => window.shell?.room != null || ['error', 'offline'].includes(document.getElementById('status')?.dataset.state)),
    { timeoutMs: 60_000, message: `${name}'s page to join` });
  return person;
}

export const statusOf = (p) => p.page.$eval('#status', (el) => el.dataset.state);
export const bannerOf = (p) => p.page.$eval('#banner', (el) => (el.hidden ? null : { kind: el.dataset.kind, title: el.querySelector('#banner-title').textContent, text: el.querySelector('#banner-text').textContent }));

/** The people list as the page shows it: [{ peer, name, color, self, typing, presence, route, sync, refused }]. */
export const peopleOf = (p) => p.page.$$eval('#peers .peer', (rows) => rows.map((li) => ({
  peer: li.dataset.peer,
  name: li.querySelector('.name').textContent,
  color: li.querySelector('.avatar').style.getPropertyValue('--c'),
  self: li.classList.contains('self'),
  typing: li.classList.contains('is-typing'),
  presence: li.querySelector('[data-presence]')?.dataset.presence ?? null,
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

/** The messages as shown: [{ id, author, text, html }] (author: the last author line above it). */
export const messagesOf = (p) => p.page.$$eval('#messages .msg', (rows) => {
  let author = null;
  return rows.map((row) => {
    author = row.querySelector('.msg-author')?.textContent ?? author;
    const text = row.querySelector('.msg-text');
    return { id: row.dataset.id, author, text: text.textContent, html: text.innerHTML };
  });
});
export const textsOf = async (p) => (await messagesOf(p)).map((m) => m.text);

/** Types a message like a person (one key event per character; '\n' as Shift+Enter) and sends it with Enter. */
export async function say(p, text, { send = true, delay = 3 } = {}) {
  await p.page.focus('#input');
  const lines = text.split('\n');
  for (const [i, line] of lines.entries()) {
    if (i > 0) await p.page.keyboard.press('Shift+Enter');
    await p.page.keyboard.type(line, { delay });
  }
  if (send) await p.page.keyboard.press('Enter');
}

/** Waits until every page shows the same messages (`count` of them, if given); returns their texts. */
export async function converged(people, { count, timeoutMs = 30_000 } = {}) {
  let seen;
  await waitUntil(async () => {
    seen = await Promise.all(people.map((p) => textsOf(p)));
    const first = JSON.stringify(seen[0]);
    return seen.every((t) => JSON.stringify(t) === first) && (count === undefined || seen[0].length === count);
  }, { timeoutMs, intervalMs: 150, message: 'every page to show the same messages' }).catch((err) => {
    // Long histories: the counts, the first place two pages differ and its neighbourhood.
    const at = seen?.[0]?.findIndex((t, i) => seen.some((other) => other[i] !== t)) ?? -1;
    const near = (t) => (t.length > 8 ? { count: t.length, from: Math.max(0, at - 2), shown: t.slice(Math.max(0, at - 2), at + 3) } : t);
    err.message += `; seen: ${JSON.stringify(seen?.map(near))}`.slice(0, 4000);
    throw err;
  });
  return seen[0];
}
