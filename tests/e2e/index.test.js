// The index page (/) and the way into a room: its links carry the room (and the name, once given)
// to the four pages; a page opened without ?room=&name= asks for them first.
//   scripts/netns.sh node --test tests/e2e/index.test.js
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

const links = (page) => page.$$eval('.apps a', (as) => as.map((a) => a.getAttribute('href')));

test('the index links carry the room name (random by default) and the name to the four pages', { timeout: 60_000 }, async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await context.newPage();
    await page.goto(`${env.server.httpUrl}/`);
    const room = await page.$eval('#room', (el) => el.value);
    assert.match(room, /^[a-z]+-[a-z]+-\d\d$/, 'a random room name');
    assert.deepEqual(await links(page), ['chat', 'editor', 'whiteboard', 'call'].map((p) => `${p}.html?room=${room}`));

    await page.fill('#room', 'team-42');
    await page.fill('#name', 'Ada L');
    assert.deepEqual(await links(page), ['chat', 'editor', 'whiteboard', 'call'].map((p) => `${p}.html?room=team-42&name=Ada+L`));
    await page.fill('#room', 'no spaces');
    assert.equal(await page.$eval('#to-chat', (a) => a.classList.contains('disabled')), true, 'a bad room name disables the links');
    await page.fill('#room', 'team-42');

    await page.click('#to-chat');
    await page.waitForURL(/\/chat\.html\?room=team-42&name=Ada\+L$/);
    await waitUntil(() => page.evaluate(() => window.shell?.room != null), { message: 'the chat joins at once' });
    assert.equal(await page.$eval('#room-name', (el) => el.textContent), 'team-42');

    // Another visit: the name is remembered, a new random room is offered.
    await page.goto(`${env.server.httpUrl}/`);
    assert.equal(await page.$eval('#name', (el) => el.value), 'Ada L');
    // ?room= preselects the room (the way back from a page's logo keeps nothing else).
    await page.goto(`${env.server.httpUrl}/?room=from-link`);
    assert.equal(await page.$eval('#room', (el) => el.value), 'from-link');
  } finally {
    await context.close();
  }
});

test('a page without ?room=&name= shows the join form, then puts both in its URL and joins', { timeout: 60_000 }, async () => {
  const context = await env.browser.newContext({ viewport: { width: 390, height: 844 } });
  try {
    const page = await context.newPage();
    await page.goto(`${env.server.httpUrl}/chat.html?room=via-form`);
    await page.waitForSelector('#join-form');
    assert.equal(await page.$eval('main', (el) => el.hidden), true, 'the page waits behind the form');
    assert.equal(await page.$eval('#join-room', (el) => el.value), 'via-form');
    await page.fill('#join-name', 'Bo');
    await page.click('#join');
    await waitUntil(() => page.evaluate(() => window.shell?.room != null), { message: 'joined' });
    assert.equal(new URL(page.url()).search, '?room=via-form&name=Bo');
    assert.equal(await page.$('#join-form'), null);
    assert.equal(await page.$eval('#status', (el) => el.dataset.state), 'connected');
    assert.equal(await page.$eval('#status-text', (el) => el.textContent), 'Connected · just you');
  } finally {
    await context.close();
  }
});
