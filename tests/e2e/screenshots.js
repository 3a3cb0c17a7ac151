// Screenshots of the shared-notes demo in its main states (not a test): three people editing,
// a phone-width window, alone in a room, offline, a wrong password, the server unreachable.
//   scripts/netns.sh node tests/e2e/screenshots.js [out-dir]   (default bench-results/screenshots)
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { startBrowserAndServer, waitUntil } from './helpers/browser.js';

const out = path.resolve(process.argv[2] || 'bench-results/screenshots');
await mkdir(out, { recursive: true });
const { server, browser, close } = await startBrowserAndServer();
const shot = (page, name) => page.screenshot({ path: path.join(out, `${name}.png`), fullPage: true });

async function person(name, color, room, { viewport = { width: 1280, height: 800 }, password, hash = room } = {}) {
  const ctx = await browser.newContext({ viewport, deviceScaleFactor: viewport.width < 500 ? 2 : 1 });
  await ctx.addInitScript(([n, c]) => {
    localStorage.setItem('roomsync.name', n);
    localStorage.setItem('roomsync.color', c);
  }, [name, color]);
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.error(name, e));
  await page.goto(`${server.httpUrl}/#${hash}`);
  if (password) {
    await page.fill('#password', password);
    await page.click('#join');
  }
  return page;
}
const peersShown = (page, n) => waitUntil(async () => { const k = await page.$$eval("#peers .peer", (l) => l.length); if (process.env.DBG) console.log(k, await page.evaluate(() => [location.hash, document.getElementById("status-text").textContent])); return k === n; }, { message: `${n} rows`, intervalMs: 500 });

try {
  const room = 'team-offsite';
  const alone = await person('Ada Lovelace', '#6e56cf', 'solo');
  await waitUntil(() => alone.$eval('#status', (s) => s.dataset.state === 'live'), { message: 'live' });
  await shot(alone, 'notes-alone');

  const a = await person('Ada Lovelace', '#6e56cf', room);
  const b = await person('Grace Hopper', '#30a46c', room);
  const c = await person('Alan Turing', '#f76b15', room);
  for (const p of [a, b, c]) await peersShown(p, 3);
  await a.click('#notes');
  await a.keyboard.type('Offsite plan\n\nFriday\n- 9:00 coffee and kickoff\n- 10:30 roadmap review\n', { delay: 2 });
  await b.waitForFunction(() => document.getElementById('notes').value.includes('roadmap'));
  await b.click('#notes');
  await b.keyboard.press('Control+End');
  await b.keyboard.type('- 14:00 hike (bring water!)\n', { delay: 2 });
  await a.setInputFiles('#file', { name: 'venue-floorplan.pdf', mimeType: 'application/pdf', buffer: Buffer.alloc(2_400_000, 7) });
  await waitUntil(() => c.$eval('#transfers', (l) => l.querySelector('[data-state="received"]') !== null), { message: 'file' });
  await c.click('#notes');
  await c.keyboard.press('Control+End');
  await c.keyboard.type('- 16', { delay: 2 });
  await a.waitForFunction(() => document.getElementById('typing').textContent !== '');
  await shot(a, 'notes-three-desktop');

  const phone = await person('Linus', '#0090ff', room, { viewport: { width: 390, height: 844 } });
  await peersShown(phone, 4);
  await phone.waitForFunction(() => document.getElementById('notes').value.includes('hike'));
  await c.keyboard.type(':00 retro', { delay: 30 });
  await shot(phone, 'notes-phone');

  await c.click('#online');
  await c.click('#notes');
  await c.keyboard.type('\n(added on the train)', { delay: 2 });
  await shot(c, 'notes-offline');

  const wrong = await person('Mallory', '#e5484d', room, { password: 'letmein' });
  await waitUntil(() => wrong.$eval('#banner', (x) => !x.hidden && x.dataset.kind === 'password'), { message: 'password banner' });
  await shot(wrong, 'notes-wrong-password');

  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await ctx.routeWebSocket(/\/socket/, (ws) => ws.close());
  const down = await ctx.newPage();
  await down.goto(`${server.httpUrl}/#${room}`);
  await waitUntil(() => down.$eval('#banner', (x) => !x.hidden && x.dataset.kind === 'server'), { message: 'server banner' });
  await shot(down, 'notes-server-unreachable');
  console.log(`screenshots in ${out}`);
} finally {
  await close();
}
