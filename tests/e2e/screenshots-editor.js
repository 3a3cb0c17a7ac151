// Screenshots of the editor page (www/editor.html) with three people, at desktop (1280 px) and
// phone (390 px) width, plus the empty state (not a test).
//   scripts/netns.sh node tests/e2e/screenshots-editor.js [out-dir]   (default bench-results/screenshots)
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { startBrowserAndServer, waitUntil } from './helpers/browser.js';
import { caretTo, converged, openEditor } from './helpers/editor-page.js';

const out = path.resolve(process.argv[2] || 'bench-results/screenshots');
await mkdir(out, { recursive: true });
const env = await startBrowserAndServer();
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const open = (name, room, viewport = DESKTOP) => openEditor(env.browser, env.server, { name, room, viewport, deviceScaleFactor: viewport === PHONE ? 2 : 1 });
const rows = (p, n) => waitUntil(() => p.page.$$eval('#peers .peer', (l, count) => l.length === count, n), { message: `${n} people`, timeoutMs: 60_000 });

try {
  const alone = await open('Ada Lovelace', 'quiet-doc');
  await waitUntil(() => alone.page.$eval('#status', (s) => s.dataset.state === 'connected'), { message: 'connected' });
  await alone.page.screenshot({ path: path.join(out, 'editor-empty.png') });

  const room = 'release-notes';
  const a = await open('Ada Lovelace', room);
  const b = await open('Grace Hopper', room);
  const c = await open('Alan Turing', room, PHONE);
  for (const p of [a, b, c]) await rows(p, 3);
  await caretTo(a, 'end');
  await a.page.keyboard.type('# Release notes 0.2\n\n## New\n- CodeMirror binding: `roomsync/codemirror`\n- Remote cursors that stay in place\n- Undo that only reverts your own edits\n\n## Fixed\n- ', { delay: 1 });
  await converged([a, b, c]);
  await caretTo(b, 'end');
  await b.page.keyboard.type('Offline edits merge when you come back', { delay: 1 });
  await b.page.keyboard.press('Shift+Home');
  await converged([a, b, c]);
  await a.page.keyboard.press('Control+Home');
  await a.page.keyboard.press('End');
  await c.page.click('.cm-content');
  await c.page.keyboard.press('Control+Home');
  for (let i = 0; i < 3; i++) await c.page.keyboard.press('ArrowDown');
  await waitUntil(() => a.page.$$eval('.cm-rs-caret', (l) => l.length === 2), { message: 'two carets on Ada\'s page' });
  await waitUntil(() => c.page.$$eval('.cm-rs-caret', (l) => l.length === 2), { message: 'two carets on the phone' });
  await a.page.screenshot({ path: path.join(out, 'editor-desktop.png') });
  await c.page.screenshot({ path: path.join(out, 'editor-phone.png') });
  console.log(`screenshots in ${out}`);
} finally {
  await env.close();
}
