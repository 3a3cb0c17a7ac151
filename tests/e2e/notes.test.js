// The shared-notes demo (www/) as a person uses it: the real signaling server serves the page,
// two browser tabs join one room, each types, both end with the same text; a third tab joining
// late catches up. Headless Debian Chromium via playwright-core, everything on 127.0.0.1.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import { createServer } from '../../js/server/index.js';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SHOTS = new URL('../../bench-results/screenshots/', import.meta.url);

let server;
let browser;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing (scripts/setup.sh installs chromium)`);
  server = await createServer({ port: 0, logger: { level: 'silent' } });
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

async function openTab(room) {
  const page = await browser.newPage({ viewport: { width: 1000, height: 600 } });
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`${server.httpUrl}/#${room}`);
  await page.waitForFunction(() => !document.getElementById('notes').disabled, null, { timeout: 20_000 });
  return { page, errors };
}

const notes = (page) => page.$eval('#notes', (el) => el.value);

async function typeAt(page, pos, text) {
  await page.$eval('#notes', (el, p) => { el.focus(); el.setSelectionRange(p, p); }, pos);
  await page.keyboard.type(text, { delay: 5 });
}

test('two tabs edit one note; a late tab catches up', async () => {
  const room = `e2e-${Date.now()}`;
  const a = await openTab(room);
  const b = await openTab(room);
  await b.page.waitForFunction(() => document.querySelectorAll('#peers li').length === 2, null, { timeout: 10_000 });

  await typeAt(a.page, 0, 'Hello from A. ');
  await b.page.waitForFunction(() => document.getElementById('notes').value === 'Hello from A. ', null, { timeout: 10_000 });
  await typeAt(b.page, 14, 'And B 😀 here.');
  const both = 'Hello from A. And B 😀 here.';
  await a.page.waitForFunction((t) => document.getElementById('notes').value === t, both, { timeout: 10_000 });

  // Concurrent typing at the two ends, then a deletion with backspace.
  await Promise.all([typeAt(a.page, 0, '>> '), typeAt(b.page, both.length, ' <<')]);
  await a.page.keyboard.press('Backspace');
  await a.page.waitForFunction(
    () => document.getElementById('notes').value.length > 0,
    null, { timeout: 5_000 });
  const settle = async () => {
    for (let i = 0; i < 100; i++) {
      const [x, y] = [await notes(a.page), await notes(b.page)];
      if (x === y) return x;
      await new Promise((r) => setTimeout(r, 50));
    }
    return null;
  };
  const merged = await settle();
  assert.equal(merged, '>>Hello from A. And B 😀 here. <<');

  const c = await openTab(room);
  await c.page.waitForFunction((t) => document.getElementById('notes').value === t, merged, { timeout: 10_000 });

  await mkdir(SHOTS, { recursive: true });
  await a.page.screenshot({ path: new URL('notes-tab-a.png', SHOTS).pathname });
  for (const tab of [a, b, c]) assert.deepEqual(tab.errors, []);
});
