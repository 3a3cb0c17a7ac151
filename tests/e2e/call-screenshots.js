// Screenshots of the call page (not a test): two and three people at desktop width, a phone,
// the lobby and the waiting state.
//   scripts/netns.sh node tests/e2e/call-screenshots.js [out-dir]   (default bench-results/screenshots)
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { startBrowserAndServer, waitUntil } from './helpers/browser.js';

const out = path.resolve(process.argv[2] || 'bench-results/screenshots');
await mkdir(out, { recursive: true });
const { server, browser, close } = await startBrowserAndServer();
const shot = (page, name) => page.screenshot({ path: path.join(out, `${name}.png`) });
const t0 = Date.now();
const log = (what) => process.env.DBG && console.log(((Date.now() - t0) / 1000).toFixed(1), what);
const wait = (ms) => new Promise((r) => setTimeout(r, ms));

async function person(name, room, viewport = { width: 1280, height: 800 }) {
  const ctx = await browser.newContext({ viewport, deviceScaleFactor: viewport.width < 500 ? 2 : 1 });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.error(name, e));
  await page.goto(`${server.httpUrl}/call.html?room=${room}&name=${encodeURIComponent(name)}`);
  log(`${name} loaded`);
  await waitUntil(() => page.$eval("#status", (s) => s.dataset.state === "live"), { timeoutMs: 90_000, message: `${name} live` });
  log(`${name} live`);
  return page;
}
const playing = (page, n) => waitUntil(() => page.$$eval('#tiles .tile[data-peer]:not([data-self]) video', (l, n) => l.length === n && l.every((v) => v.readyState >= 2 && v.videoWidth > 0), n), { timeoutMs: 150_000, message: `${n} videos` });

try {
  const room = 'design-review';
  const a = await person('Ada Lovelace', room);
  await a.click('#start');
  await waitUntil(() => a.isVisible('#stage'));
  await wait(500);
  await shot(a, 'call-waiting');
  log("await shot(a, 'call-waiting');");
  const b = await person('Grace Hopper', room);
  await wait(1000);
  await shot(b, 'call-lobby');
  await b.click('#start');
  log("await b.click('#start');");
  await playing(a, 1);
  log('await playing(a, 1);');
  await playing(b, 1);
  log('await playing(b, 1);');
  await b.$eval('#mute', (el) => el.click());
  log("await b.$eval('#mute', (el) => el.click());");
  await wait(2500);
  await shot(a, 'call-two-desktop');
  log("await shot(a, 'call-two-desktop');");
  const c = await person('Alan Turing', room, { width: 390, height: 844 });
  await c.click('#start');
  log("await c.click('#start');");
  await playing(c, 2);
  log('await playing(c, 2);');
  await playing(a, 2);
  log('await playing(a, 2);');
  await a.$eval('#camera', (el) => el.click());
  await wait(2500);
  await shot(b, 'call-three-desktop');
  await shot(c, 'call-phone');
  const d = await person('Linus', room, { width: 390, height: 844 });
  await wait(1500);
  await shot(d, 'call-lobby-phone');
} finally {
  await close();
}
