// The chat page (www/chat.html) as people use it, in headless Chromium over real WebRTC rooms:
// messages both ways, Enter / Shift+Enter, typing that clears itself, presence online / away,
// reactions at most once a second, hostile content shown inert, history after a reload and for a
// late joiner (in order, each message once).
//   scripts/netns.sh node --test tests/e2e/chat.test.js
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { startBrowserAndServer, waitUntil } from './helpers/browser.js';
import { converged, messagesOf, openPerson, peopleOf, say, textsOf, waitForPeople } from './helpers/chat-page.js';

let env;
before(async () => {
  env = await startBrowserAndServer();
});
after(async () => {
  await env?.close();
});

let rooms = 0;
const newRoom = () => `chat-${process.pid}-${++rooms}`;
const open = (opts) => openPerson(env.browser, env.server, opts);
const closeAll = (people) => Promise.all(people.map((p) => p.context.close()));
const typingLine = (p) => p.page.$eval('#typing', (el) => el.textContent);
const presenceOf = async (p, name) => (await peopleOf(p)).find((r) => r.name === name)?.presence;

test('two people chat: both ways, Shift+Enter breaks a line, typing shows and clears, presence online and away', { timeout: 120_000 }, async () => {
  const room = newRoom();
  // Bo's idle timer is shortened by the page's debug option (?idle=ms).
  const ada = await open({ name: 'Ada', room });
  const bo = await open({ name: 'Bo', room, query: { idle: 3000 } });
  const people = [ada, bo];
  try {
    assert.equal(await ada.page.$eval('#empty', (el) => el.hidden), false, 'an empty room says so');
    for (const p of people) await waitForPeople(p, ['Ada', 'Bo']);
    // Both online (Bo moves his mouse: his short idle time may have run out meanwhile).
    await bo.page.mouse.move(100, 100);
    await waitUntil(async () => JSON.stringify((await peopleOf(ada)).map((r) => [r.name, r.self, r.presence]).sort()) === JSON.stringify([['Ada', true, 'online'], ['Bo', false, 'online']]),
      { message: 'Ada lists herself and Bo, both online' });

    await say(ada, 'Hi Bo!');
    await say(bo, 'Hello Ada.\nTwo lines here.');
    assert.deepEqual(await converged(people, { count: 2 }), ['Hi Bo!', 'Hello Ada.\nTwo lines here.']);
    assert.equal(await ada.page.$eval('#empty', (el) => el.hidden), true);
    const shown = await messagesOf(bo);
    assert.deepEqual(shown.map((m) => m.author), ['Ada', 'Bo']);
    assert.equal(await bo.page.$eval('#input', (el) => el.value), '', 'the composer is cleared after sending');

    // Typing: Ada types without sending; Bo sees it, then it goes away by itself (3 s after the
    // last keystroke) while the text stays in Ada's composer.
    await say(ada, 'still thinking', { send: false });
    await waitUntil(async () => (await typingLine(bo)) === 'Ada is typing…', { message: 'Bo sees Ada typing' });
    assert.equal(await typingLine(ada), '', 'nobody else is typing');
    await waitUntil(async () => (await typingLine(bo)) === '', { timeoutMs: 15_000, message: 'the typing line to clear by itself' });
    assert.equal(await ada.page.$eval('#input', (el) => el.value), 'still thinking');
    await ada.page.keyboard.press('Enter');
    await converged(people, { count: 3 });

    // Away: Ada's tab goes to the background (document.hidden and a visibilitychange event);
    // Bo stops touching his page and goes idle.
    await ada.page.evaluate(() => {
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await waitUntil(async () => (await presenceOf(bo, 'Ada')) === 'away', { message: 'Bo sees Ada away' });
    await waitUntil(async () => (await presenceOf(ada, 'Bo')) === 'away', { timeoutMs: 15_000, message: 'Ada sees Bo away after his idle time' });
    await ada.page.evaluate(() => {
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => false });
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'visible' });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await bo.page.mouse.move(200, 200);
    await bo.page.mouse.move(220, 240);
    for (const [p, other] of [[bo, 'Ada'], [ada, 'Bo']]) {
      await waitUntil(async () => (await presenceOf(p, other)) === 'online', { message: `${p.name} sees ${other} back online` });
    }
    for (const p of people) assert.deepEqual(p.errors, []);
  } finally {
    await closeAll(people);
  }
});

test('hostile messages stay text, only http(s) links are links; reactions at most once a second, with a notice', { timeout: 120_000 }, async () => {
  const room = newRoom();
  const ada = await open({ name: 'Ada', room });
  const bo = await open({ name: '<b>Bo</b>', room });
  const people = [ada, bo];
  try {
    for (const p of people) await waitForPeople(p, ['Ada', '<b>Bo</b>']);
    await ada.page.evaluate(() => { window.pwned = 0; });
    await say(bo, '<img src=x onerror="window.pwned=1">');
    await say(bo, 'javascript:window.pwned=2 and [x](javascript:window.pwned=3)');
    await say(bo, 'docs at https://example.com/a?b=1&c=<2>. or http://x.test');
    await converged(people, { count: 3 });
    const [img, js, links] = await messagesOf(ada);
    assert.equal(img.text, '<img src=x onerror="window.pwned=1">');
    assert.equal(img.author, '<b>Bo</b>', 'names are text too');
    assert.equal(await ada.page.$$eval('#messages img, #messages script', (l) => l.length), 0);
    assert.ok(!js.html.includes('<a'), `no link for javascript: (${js.html})`);
    const hrefs = await ada.page.$$eval('#messages a', (as) => as.map((a) => [a.getAttribute('href'), a.rel, a.target, a.textContent]));
    assert.deepEqual(hrefs, [
      ['https://example.com/a?b=1&c=', 'noopener noreferrer', '_blank', 'https://example.com/a?b=1&c='],
      ['http://x.test/', 'noopener noreferrer', '_blank', 'http://x.test'],
    ]);
    assert.equal(links.text, 'docs at https://example.com/a?b=1&c=<2>. or http://x.test');
    assert.equal(await ada.page.evaluate(() => window.pwned), 0);

    // Reactions: Ada reacts twice in a row: the second is refused with a notice; after a second
    // she can react again. Bo sees the counts.
    const reactionsOf = (p, i) => p.page.evaluate((i) => [...(document.querySelectorAll('#messages .msg')[i]?.querySelectorAll('.chip') ?? [])].map((c) => c.textContent), i);
    // Clicks inside the page, back to back, so "twice within a second" does not depend on speed.
    const click = (p, i, selector, times = 1) => p.page.evaluate(([i, selector, times]) => {
      const button = document.querySelectorAll('#messages .msg')[i].querySelector(selector);
      for (let k = 0; k < times; k++) button.click();
    }, [i, selector, times]);
    await ada.page.locator('#messages .msg').nth(2).hover(); // a person sees the bar on hover
    assert.equal(await ada.page.locator('#messages .msg').nth(2).locator('.react-bar').isVisible(), true);
    await click(ada, 2, '.react[data-emoji="👍"]', 2);
    await waitUntil(() => ada.page.$eval('#notice', (el) => !el.hidden && el.textContent), { message: 'the rate notice' });
    assert.match(await ada.page.$eval('#notice', (el) => el.textContent), /one reaction per second/i);
    await waitUntil(async () => JSON.stringify(await reactionsOf(bo, 2)) === '["👍1"]', { message: 'Bo sees one 👍 (the second click did not undo it)' });
    await new Promise((r) => setTimeout(r, 1100));
    await click(ada, 2, '.react[data-emoji="🎉"]');
    await click(bo, 2, '.chip[data-emoji="👍"]'); // Bo adds his own 👍
    for (const p of people) await waitUntil(async () => JSON.stringify(await reactionsOf(p, 2)) === '["👍2","🎉1"]', { message: `${p.name} sees 👍2 🎉1` }).catch(async (err) => { err.message += ` (shown: ${JSON.stringify(await reactionsOf(p, 2))}, map: ${JSON.stringify(await p.page.evaluate(() => window.shell.room.doc.getMap("reactions").toJSON()))})`; throw err; });
    for (const p of people) assert.deepEqual(p.errors, []);
  } finally {
    await closeAll(people);
  }
});

test('history: a reload and a late joiner see every message once, in the same order; new messages do not yank a reader', { timeout: 120_000 }, async () => {
  const room = newRoom();
  const ada = await open({ name: 'Ada', room });
  const bo = await open({ name: 'Bo', room });
  const people = [ada, bo];
  try {
    for (const p of people) await waitForPeople(p, ['Ada', 'Bo']);
    for (let i = 1; i <= 3; i++) {
      await say(ada, `ada ${i}`);
      await say(bo, `bo ${i}`);
    }
    const before = await converged(people, { count: 6 });

    await bo.page.reload();
    await waitUntil(async () => JSON.stringify(await textsOf(bo)) === JSON.stringify(before), { message: 'Bo sees the history after a reload' });
    await waitForPeople(ada, ['Ada', 'Bo']);
    await say(bo, 'back after reload');

    const cy = await open({ name: 'Cy', room });
    people.push(cy);
    const all = await converged(people, { count: 7 });
    assert.deepEqual(all, [...before, 'back after reload']);
    const ids = (await messagesOf(cy)).map((m) => m.id);
    assert.equal(new Set(ids).size, ids.length, 'no duplicates');
    // The reloaded Bo is the same user: his messages before and after the reload are "you".
    assert.deepEqual(await bo.page.$$eval('#messages .msg.mine .msg-text', (l) => l.map((x) => x.textContent)), ['bo 1', 'bo 2', 'bo 3', 'back after reload']);

    // Reading history is not interrupted: Cy scrolls up, a new message arrives, Cy stays where he
    // is and gets a "New messages" button that takes him down.
    await ada.page.evaluate(() => {
      const list = window.shell.room.doc.getList('messages');
      list.push(...Array.from({ length: 40 }, (_, i) => ({ id: `filler-${i}`, content: `filler ${i}`, user_id: 'script', room_id: 'r', timestamp: Date.now(), name: 'Script' })));
    });
    await converged(people, { count: 47 });
    const scroll = () => cy.page.$eval('#messages', (el) => ({ top: el.scrollTop, atEnd: el.scrollHeight - el.scrollTop - el.clientHeight < 80 }));
    assert.equal((await scroll()).atEnd, true, 'new messages scroll a reader at the end along');
    await cy.page.$eval('#messages', (el) => { el.scrollTop = 0; });
    await say(ada, 'while Cy reads');
    await converged(people, { count: 48 });
    assert.deepEqual(await scroll(), { top: 0, atEnd: false });
    assert.equal(await cy.page.$eval('#jump', (el) => el.hidden), false);
    await cy.page.click('#jump');
    await waitUntil(async () => (await scroll()).atEnd, { message: 'the button takes Cy to the end' });
    assert.equal(await cy.page.$eval('#jump', (el) => el.hidden), true);
    for (const p of people) assert.deepEqual(p.errors, []);
  } finally {
    await closeAll(people);
  }
});
