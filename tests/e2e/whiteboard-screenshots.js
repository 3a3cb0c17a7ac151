// Screenshots of the whiteboard page (not a test): three people drawing at desktop width, a phone
// in the same room, a board alone and empty, the join form.
//   scripts/netns.sh node tests/e2e/whiteboard-screenshots.js [out-dir]   (default bench-results/screenshots)
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { startBrowserAndServer, waitUntil } from './helpers/browser.js';

const out = path.resolve(process.argv[2] || 'bench-results/screenshots');
await mkdir(out, { recursive: true });
const { server, browser, close } = await startBrowserAndServer();
const shot = (page, name) => page.screenshot({ path: path.join(out, `${name}.png`) });

async function person(name, room, { viewport = { width: 1280, height: 800 }, touch = false } = {}) {
  const ctx = await browser.newContext({ viewport, hasTouch: touch, isMobile: touch, deviceScaleFactor: viewport.width < 500 ? 2 : 1 });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.error(name, e));
  const q = room ? `?room=${room}&name=${encodeURIComponent(name)}` : '';
  await page.goto(`${server.httpUrl}/whiteboard.html${q}`);
  return page;
}
const synced = (page, n) => waitUntil(() => page.evaluate((k) => document.querySelectorAll('#peers .peer').length === k
  && document.getElementById('status').dataset.status === 'synced', n), { message: `${n} people`, intervalMs: 200, timeoutMs: 40_000 });
const at = (page, x, y) => page.evaluate(([bx, by]) => {
  const p = new DOMPoint(bx, by).matrixTransform(document.getElementById('board').getScreenCTM());
  return { x: p.x, y: p.y };
}, [x, y]);
async function drag(page, tool, points, color) {
  await page.click(`[data-tool="${tool}"]`);
  if (color) await page.click(`[data-color="${color}"]`);
  const [first, ...rest] = await Promise.all(points.map(([x, y]) => at(page, x, y)));
  await page.mouse.move(first.x, first.y);
  await page.mouse.down();
  for (const p of rest) await page.mouse.move(p.x, p.y, { steps: 3 });
  await page.mouse.up();
}
const wave = (x0, y0, w, h, n = 24) => Array.from({ length: n + 1 }, (_, i) => [x0 + (w * i) / n, y0 + h * Math.sin((i / n) * Math.PI * 2)]);

try {
  const join = await person('', null);
  await shot(join, 'whiteboard-join');

  const alone = await person('Ada Lovelace', 'wb-solo');
  await waitUntil(() => alone.evaluate(() => document.getElementById('status').dataset.status === 'connected'), { message: 'connected' });
  await shot(alone, 'whiteboard-empty');

  const room = 'design-review';
  const a = await person('Ada Lovelace', room);
  const b = await person('Grace Hopper', room);
  const c = await person('Alan Turing', room);
  for (const p of [a, b, c]) await synced(p, 3);
  await drag(a, 'rect', [[120, 120], [470, 330]], '#0090ff');
  await drag(a, 'rect', [[700, 120], [1060, 330]], '#30a46c');
  await drag(b, 'circle', [[590, 620], [700, 620]], '#f76b15');
  await drag(b, 'pen', [[470, 225], [540, 215], [620, 235], [700, 225]], '#14171f');
  await drag(c, 'pen', wave(150, 470, 300, 40), '#6e56cf');
  await drag(c, 'pen', [[880, 340], [860, 420], [760, 540], [690, 580]], '#e5484d');
  await waitUntil(() => a.evaluate(() => document.querySelectorAll('#shapes [data-id]').length === 6), { message: '6 shapes' });
  await a.click('[data-tool="select"]');
  const sel = await at(a, 300, 225);
  await a.mouse.click(sel.x, sel.y);
  const pb = await at(b, 760, 700);
  await b.mouse.move(pb.x, pb.y, { steps: 3 });
  // Alan is still drawing (his stroke in progress shows on Ada's board).
  await c.click('[data-tool="pen"]');
  await c.click('[data-color="#d6409f"]');
  const start = await at(c, 880, 640);
  await c.mouse.move(start.x, start.y);
  await c.mouse.down();
  for (const [x, y] of wave(880, 640, 180, -30, 12).slice(1, 10)) {
    const p = await at(c, x, y);
    await c.mouse.move(p.x, p.y, { steps: 2 });
  }
  await waitUntil(() => a.evaluate(() => document.querySelectorAll('#pointers .wb-pointer').length === 2
    && document.querySelector('#remote .wb-draft') !== null), { message: 'pointers and a stroke in progress' });
  await new Promise((r) => setTimeout(r, 300));
  await shot(a, 'whiteboard-desktop');
  await c.mouse.up();

  const phone = await person('Linus', room, { viewport: { width: 390, height: 844 }, touch: true });
  await synced(phone, 4);
  const pp = await at(b, 400, 760);
  await b.mouse.move(pp.x, pp.y, { steps: 3 });
  await waitUntil(() => phone.evaluate(() => document.querySelectorAll('#pointers .wb-pointer').length >= 2), { message: 'pointers on phone' });
  await new Promise((r) => setTimeout(r, 300));
  await shot(phone, 'whiteboard-phone');
  await phone.screenshot({ path: path.join(out, 'whiteboard-phone-full.png'), fullPage: true });
  console.log(`screenshots in ${out}`);
} finally {
  await close();
}
