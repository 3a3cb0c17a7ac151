// The README's ten-line P2P shared editor (tests/webrtc/pages/editor.html, joinRoom in a static
// page) in headless Chromium: pages typing at once converge, over data channels.
// Run inside the private network namespace:  scripts/netns.sh node --test tests/webrtc/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CHROMIUM, launchChromium } from './helpers/chromium.js';
import { defaultStaticDirs } from '../../js/server/index.js';
import { startServer, waitUntil } from './helpers/peers.js';

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
  await browser?.close();
  await srv?.close();
});

test('three pages of the README editor type at once and converge over data channels', { skip, timeout: 90_000 }, async () => {
  const ctx = await browser.newContext();
  try {
    const room = `editor-${process.pid}`;
    const pages = [];
    for (let i = 0; i < 3; i++) {
      const page = await ctx.newPage();
      const logs = [];
      page.on('pageerror', (e) => logs.push(String(e)));
      page.on('console', (m) => {
        if (m.type() === 'error' && !/favicon\.ico$/.test(m.location().url)) logs.push(`${m.text()} ${m.location().url}`);
      });
      await page.goto(`${srv.httpUrl}/test/editor.html#${room}`);
      await page.waitForFunction(() => window.room !== undefined).catch((e) => { throw new Error(`${e.message}: ${logs.join('; ')}`); });
      pages.push({ page, logs });
    }
    const ids = await Promise.all(pages.map((p) => p.page.evaluate(() => window.room.peerId)));
    let seen = [];
    await waitUntil(async () => {
      seen = await Promise.all(pages.map((p, i) => p.page.evaluate((others) => others.map((o) => window.room.peerInfo(o)?.via), ids.filter((_, j) => j !== i))));
      return seen.flat().every((v) => v === 'datachannel');
    }, { message: 'data channels between all pages' }).catch((e) => {
      // Rare under a loaded CI run (once in about ten): say what each page saw, for the next look.
      throw new Error(`${e.message}; route to the others per page: ${JSON.stringify(seen)}; page errors: ${JSON.stringify(pages.map((p) => p.logs))}`);
    });
    // Everyone types at once (keyboard events into the textarea), emoji included.
    await Promise.all(pages.map((p, i) => p.page.type('#editor', `page ${i} says hi 👋. `, { delay: 5 })));
    const value = (p) => p.page.evaluate(() => document.querySelector('#editor').value);
    await waitUntil(async () => new Set(await Promise.all(pages.map(value))).size === 1, { message: 'equal textareas' });
    const final = await value(pages[0]);
    for (let i = 0; i < 3; i++) assert.ok(final.length === 3 * `page ${i} says hi 👋. `.length, final);
    // Each page's text is the shared document's.
    for (const p of pages) assert.equal(await p.page.evaluate(() => window.room.doc.getText('body').toString()), final);
    for (const p of pages) assert.deepEqual(p.logs, []);
  } finally {
    await ctx.close();
  }
});
