// The whiteboard page (www/whiteboard.html) in headless Chromium: people draw, move and delete
// shapes with the mouse and a finger, see each other's pointers, and a late joiner gets the
// whole board. Asserts on what the pages show. Run inside the private network namespace:
//   scripts/netns.sh node --test tests/e2e/whiteboard.test.js
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startBrowserAndServer, waitUntil } from './helpers/browser.js';

let env;
before(async () => { env = await startBrowserAndServer(); });
after(async () => { await env?.close(); });

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

async function open(name, room, { viewport = DESKTOP, touch = false, route } = {}) {
  const context = await env.browser.newContext({ viewport, hasTouch: touch, isMobile: touch, deviceScaleFactor: 1 });
  if (route) await context.routeWebSocket(/\/socket\//, route);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`${env.server.httpUrl}/whiteboard.html?room=${encodeURIComponent(room)}&name=${encodeURIComponent(name)}`);
  await page.waitForSelector('#board-view:not([hidden])');
  return { name, page, context, errors };
}

/** Waits until the page lists exactly these names and says it is synced with them. */
async function waitForPeople(p, names) {
  const want = [...names].sort().join(', ');
  let seen;
  await waitUntil(async () => {
    seen = await p.page.evaluate(() => [
      [...document.querySelectorAll('#peers .name')].map((n) => n.textContent).sort().join(', '),
      document.getElementById('status').dataset.status,
    ]);
    return seen[0] === want && seen[1] === 'synced';
  }, { timeoutMs: 40_000, message: `${p.name} to list ${want} and be synced` }).catch((err) => {
    err.message += `; last seen: ${JSON.stringify(seen)}`;
    throw err;
  });
}

/** Screen position of a board point on this page (the board scales to fit the window). */
const toScreen = (p, x, y) => p.page.evaluate(([bx, by]) => {
  const at = new DOMPoint(bx, by).matrixTransform(document.getElementById('board').getScreenCTM());
  return { x: at.x, y: at.y };
}, [x, y]);

/** Mouse drag through board points, with the given tool; `during` runs before the button is released. */
async function drag(p, tool, points, during) {
  await p.page.click(`[data-tool="${tool}"]`);
  const [first, ...rest] = await Promise.all(points.map(([x, y]) => toScreen(p, x, y)));
  await p.page.mouse.move(first.x, first.y);
  await p.page.mouse.down();
  for (const at of rest) await p.page.mouse.move(at.x, at.y, { steps: 4 });
  await during?.();
  await p.page.mouse.up();
}

/** The shapes a page shows: [{ kind, ...geometry of the visible element }], stacking order. */
const shapesOf = (p) => p.page.$$eval('#shapes [data-id]', (gs) => gs.map((g) => {
  const ink = g.querySelector('.wb-ink');
  const attrs = Object.fromEntries(['x', 'y', 'width', 'height', 'cx', 'cy', 'r', 'd', 'stroke']
    .filter((a) => ink.hasAttribute(a)).map((a) => [a, ink.getAttribute(a)]));
  return { id: g.dataset.id, kind: g.dataset.kind, ...attrs };
}));
const kinds = async (p) => (await shapesOf(p)).map((s) => s.kind).sort().join(',');
const waitShapes = (p, want, message) => waitUntil(async () => (await kinds(p)) === want, { message: `${p.name}: ${message} (${want})` });
const sameShapes = async (a, b) => JSON.stringify(await shapesOf(a)) === JSON.stringify(await shapesOf(b));

test('two people draw, move and delete shapes together; pointers show with names; a late joiner and a finger on a phone', { timeout: 120_000 }, async () => {
  const room = `wb-${process.pid}`;
  const ada = await open('Ada', room);
  const bo = await open('Bo', room);
  const people = [ada, bo];
  try {
    assert.equal(await ada.page.$eval('#empty', (el) => !el.hidden && el.textContent), 'Draw something — everyone in this room sees it');
    for (const p of people) await waitForPeople(p, ['Ada', 'Bo']);

    // Ada draws a freehand line, a rectangle and a circle with the mouse. Bo watches the line
    // being drawn (Ada's gesture in her presence) before it lands in the document.
    await drag(ada, 'pen', [[100, 150], [200, 220], [300, 160], [400, 230]], () => waitUntil(() => bo.page.evaluate(() =>
      document.querySelector('#remote path.wb-draft') !== null && document.querySelector('#shapes [data-id]') === null), { message: 'Ada\'s stroke in progress on Bo\'s page' }));
    await drag(ada, 'rect', [[500, 100], [700, 300]]);
    await ada.page.click('[data-color="#e5484d"]');
    await drag(ada, 'circle', [[900, 550], [1000, 550]]);
    assert.equal(await kinds(ada), 'circle,line,rect');
    await waitShapes(bo, 'circle,line,rect', 'Ada\'s three shapes');
    await waitUntil(() => sameShapes(ada, bo), { message: 'the same geometry on both pages' });
    const before = await shapesOf(bo);
    const rect = before.find((s) => s.kind === 'rect');
    assert.equal(rect.stroke, '#14171f');
    assert.equal(before.find((s) => s.kind === 'circle').stroke, '#e5484d');
    assert.ok(Math.abs(Number(rect.x) - 500) < 2 && Math.abs(Number(rect.width) - 200) < 2, JSON.stringify(rect));
    assert.equal(await bo.page.$eval('#empty', (el) => el.hidden), true);
    assert.equal(await bo.page.$eval('#shape-count', (el) => el.textContent), '3 shapes');

    // Bo moves the rectangle down by 300 and deletes the circle: Ada sees both.
    await drag(bo, 'select', [[600, 200], [600, 350], [600, 500]], () => waitUntil(() => ada.page.evaluate((id) =>
      Number(document.querySelector(`#shapes [data-id="${id}"]`)?.getAttribute('transform')?.match(/^translate\(-?\d+ (\d+)\)$/)?.[1]) > 250, rect.id), { message: 'Bo\'s drag in progress on Ada\'s page' }));
    await bo.page.click('[data-tool="erase"]');
    const circleAt = await toScreen(bo, 900, 550);
    await bo.page.mouse.click(circleAt.x, circleAt.y); // inside the circle
    await waitShapes(ada, 'line,rect', 'the circle deleted by Bo');
    assert.equal(await ada.page.$eval('#remote', (g) => g.childElementCount), 0, 'no gesture left over');
    await waitUntil(() => sameShapes(ada, bo), { message: 'Bo\'s move on Ada\'s page' });
    const movedRect = (await shapesOf(ada)).find((s) => s.kind === 'rect');
    assert.equal(movedRect.id, rect.id, 'a move keeps the shape (same id)');
    assert.ok(Math.abs(Number(movedRect.y) - 400) < 3 && Math.abs(Number(movedRect.x) - 500) < 3, JSON.stringify(movedRect));

    // Bo's pointer is on Ada's board, with Bo's name, where Bo's mouse is.
    await bo.page.mouse.move((await toScreen(bo, 300, 700)).x, (await toScreen(bo, 300, 700)).y, { steps: 3 });
    const want = await toScreen(ada, 300, 700);
    await waitUntil(() => ada.page.evaluate(([x, y]) => {
      const el = document.querySelector('#pointers .wb-pointer');
      if (!el || el.querySelector('.wb-pointer-name').textContent !== 'Bo') return false;
      const r = el.getBoundingClientRect();
      return Math.abs(r.left - x) < 3 && Math.abs(r.top - y) < 3;
    }, [want.x, want.y]), { message: 'Bo\'s pointer at (300, 700) on Ada\'s page' });

    // A late joiner sees every shape.
    const cy = await open('Cy', room);
    people.push(cy);
    await waitForPeople(cy, ['Ada', 'Bo', 'Cy']);
    await waitShapes(cy, 'line,rect', 'the board as it is');
    await waitUntil(() => sameShapes(ada, cy), { message: 'Cy to see the same geometry' });

    // A phone: a finger draws a line (real touch input, which Chromium turns into pointer events).
    const di = await open('Di', room, { viewport: PHONE, touch: true });
    people.push(di);
    await waitShapes(di, 'line,rect', 'the board on a phone');
    await di.page.click('[data-tool="pen"]');
    const cdp = await di.context.newCDPSession(di.page);
    const path = await Promise.all([[200, 700], [400, 800], [600, 700], [800, 800]].map(([x, y]) => toScreen(di, x, y)));
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [path[0]] });
    for (const at of path.slice(1)) await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [at] });
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    await waitShapes(ada, 'line,line,rect', 'Di\'s finger-drawn line');
    const starts = (await shapesOf(ada)).filter((s) => s.kind === 'line').map((s) => s.d.match(/^M([\d.]+) ([\d.]+)/).slice(1).map(Number));
    assert.ok(starts.some(([x, y]) => Math.abs(x - 200) < 5 && Math.abs(y - 700) < 5), `a line starting near (200, 700): ${JSON.stringify(starts)}`);

    // Four people, four colours (two peers that hash to one colour: the greater id moves).
    await waitUntil(() => ada.page.$$eval('#peers .avatar', (els) => {
      const colors = els.map((el) => el.style.getPropertyValue('--c'));
      return colors.length === 4 && new Set(colors).size === 4;
    }), { message: 'four distinct colours in Ada\'s people list' });

    for (const p of people) assert.deepEqual(p.errors, [], `${p.name}: no page errors`);
  } finally {
    await Promise.all(people.map((p) => p.context.close()));
  }
});

test('the server unreachable: offline with a clear notice, shapes drawn meanwhile reach the room once it is back', { timeout: 90_000 }, async () => {
  const room = `wb-offline-${process.pid}`;
  const ada = await open('Ada', room);
  let blocked = true;
  const bo = await open('Bo', room, { route: (ws) => (blocked ? ws.close() : ws.connectToServer()) });
  try {
    await waitUntil(() => bo.page.$eval('#status', (el) => el.dataset.status === 'offline'), { message: 'Bo offline' });
    assert.equal(await bo.page.$eval('#banner', (el) => !el.hidden && el.querySelector('#banner-title').textContent), 'Can’t reach the server.');
    assert.match(await bo.page.$eval('#status-text', (el) => el.textContent), /^Offline/);
    await drag(bo, 'rect', [[200, 200], [400, 400]]);
    await drag(ada, 'circle', [[800, 400], [900, 400]]);
    assert.equal(await kinds(bo), 'rect', 'Bo draws while offline');

    blocked = false;
    await bo.page.click('#banner-action'); // Retry now
    for (const p of [ada, bo]) await waitForPeople(p, ['Ada', 'Bo']);
    assert.equal(await bo.page.$eval('#banner', (el) => el.hidden), true);
    for (const p of [ada, bo]) await waitShapes(p, 'circle,rect', 'both drawings after the reconnection');
    for (const p of [ada, bo]) assert.deepEqual(p.errors, [], `${p.name}: no page errors`);
  } finally {
    await Promise.all([ada, bo].map((p) => p.context.close()));
  }
});

test('without ?room= and ?name= a join form comes first; it opens a shareable link', { timeout: 30_000 }, async () => {
  const context = await env.browser.newContext({ viewport: PHONE });
  const page = await context.newPage();
  try {
    await page.goto(`${env.server.httpUrl}/whiteboard.html`);
    assert.equal(await page.$eval('#board-view', (el) => el.hidden), true);
    assert.match(await page.inputValue('#join-room'), /^board-[a-z0-9]+$/, 'a random room by default');
    await page.fill('#join-name', 'Eve Example');
    await page.fill('#join-room', 'wb-form');
    await Promise.all([page.waitForURL(/whiteboard\.html\?/), page.click('#join-form button')]);
    const url = new URL(page.url());
    assert.deepEqual([url.searchParams.get('room'), url.searchParams.get('name')], ['wb-form', 'Eve Example']);
    await waitUntil(() => page.$eval('#status', (el) => el.dataset.status === 'connected'), { message: 'joined alone' });
    assert.equal(await page.$eval('#peers .name', (el) => el.textContent), 'Eve Example');
    assert.equal(new URL(await page.inputValue('#share-link')).search, '?room=wb-form', 'the invite link lets the next person pick a name');
  } finally {
    await context.close();
  }
});
