// Screenshots of the demo pages with two or more people (not a test), at desktop (1280 px) and
// phone (390 px) width: the index, and the chat (three people, a phone, the empty state, a wrong
// password, the server unreachable).
//   scripts/netns.sh node tests/e2e/screenshots.js [out-dir]   (default bench-results/screenshots)
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { startBrowserAndServer, waitUntil } from './helpers/browser.js';

const out = path.resolve(process.argv[2] || 'bench-results/screenshots');
await mkdir(out, { recursive: true });
const { server, browser, close } = await startBrowserAndServer();
const shot = (page, name, fullPage = false) => page.screenshot({ path: path.join(out, `${name}.png`), fullPage });
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

async function visit(url, { viewport = DESKTOP, context } = {}) {
  context ??= await browser.newContext({ viewport, deviceScaleFactor: viewport.width < 500 ? 2 : 1 });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(url, e));
  await page.goto(`${server.httpUrl}${url}`);
  return page;
}
const q = (o) => new URLSearchParams(o).toString();
const rowsShown = (page, n) => waitUntil(async () => (await page.$$eval('#peers .peer', (l) => l.length)) === n, { message: `${n} rows`, intervalMs: 200, timeoutMs: 60_000 });
async function say(page, text) {
  await page.focus('#input');
  for (const [i, line] of text.split('\n').entries()) {
    if (i) await page.keyboard.press('Shift+Enter');
    await page.keyboard.type(line, { delay: 1 });
  }
  await page.keyboard.press('Enter');
}

async function indexShots() {
  const page = await visit('/?room=team-offsite');
  await page.fill('#name', 'Ada Lovelace');
  await shot(page, 'index-desktop', true);
  const phone = await visit('/?room=team-offsite', { viewport: PHONE });
  await shot(phone, 'index-phone', true);
}

async function chatShots() {
  const room = 'team-offsite';
  const alone = await visit(`/chat.html?${q({ room: 'quiet-room', name: 'Ada Lovelace' })}`);
  await waitUntil(() => alone.$eval('#status', (s) => s.dataset.state === 'connected'), { message: 'connected' });
  await shot(alone, 'chat-empty');

  const a = await visit(`/chat.html?${q({ room, name: 'Ada Lovelace' })}`);
  const b = await visit(`/chat.html?${q({ room, name: 'Grace Hopper' })}`);
  const c = await visit(`/chat.html?${q({ room, name: 'Alan Turing' })}`);
  for (const p of [a, b, c]) await rowsShown(p, 3);
  await say(a, 'Morning all! Plan for Friday is up: https://example.com/offsite');
  await say(a, 'Coffee at 9, roadmap at 10:30.');
  await say(b, 'Looks great. Can we add a hike after lunch?\nBring water, it will be warm.');
  await say(c, '<b>+1</b> for the hike 🥾');
  await c.waitForFunction(() => document.querySelectorAll('#messages .msg').length === 4);
  await b.evaluate(() => document.querySelectorAll('#messages .msg')[0].querySelector('.react[data-emoji="🎉"]').click());
  await new Promise((r) => setTimeout(r, 1100));
  await c.evaluate(() => document.querySelectorAll('#messages .msg')[0].querySelector('.react[data-emoji="🎉"]').click());
  await new Promise((r) => setTimeout(r, 1100));
  await a.evaluate(() => document.querySelectorAll('#messages .msg')[2].querySelector('.react[data-emoji="👍"]').click());
  await a.waitForFunction(() => document.querySelectorAll('#messages .chip').length === 2);
  await c.focus('#input');
  await c.keyboard.type('I can book the', { delay: 2 });
  await a.waitForFunction(() => document.getElementById('typing').textContent !== '');
  await shot(a, 'chat-desktop');

  const phone = await visit(`/chat.html?${q({ room, name: 'Linus' })}`, { viewport: PHONE });
  await rowsShown(phone, 4);
  await phone.waitForFunction(() => document.querySelectorAll('#messages .msg').length === 4);
  await c.keyboard.type(' bus', { delay: 30 });
  await phone.waitForFunction(() => document.getElementById('typing').textContent !== '');
  await shot(phone, 'chat-phone');

  const wrongCtx = await browser.newContext({ viewport: DESKTOP });
  const wrong = await visit(`/chat.html?${q({ room })}`, { context: wrongCtx });
  await wrong.fill('#join-name', 'Mallory');
  await shot(wrong, 'chat-join-form');
  await wrong.fill('#join-password', 'letmein');
  await wrong.click('#join');
  await waitUntil(() => wrong.$eval('#banner', (x) => !x.hidden && x.dataset.kind === 'password'), { message: 'password banner' });
  await shot(wrong, 'chat-wrong-password');

  const ctx = await browser.newContext({ viewport: DESKTOP });
  await ctx.routeWebSocket(/\/socket/, (ws) => ws.close());
  const down = await visit(`/chat.html?${q({ room, name: 'Ada Lovelace' })}`, { context: ctx });
  await waitUntil(() => down.$eval('#banner', (x) => !x.hidden && x.dataset.kind === 'server'), { message: 'server banner' });
  await shot(down, 'chat-server-unreachable');
}

try {
  await indexShots();
  await chatShots();
  console.log(`screenshots in ${out}`);
} finally {
  await close();
}
