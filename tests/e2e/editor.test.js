// The editor page (www/editor.html) as people use it, in headless Chromium over real WebRTC rooms:
// typing shows up on the other side, the other person's cursor and selection are drawn with their
// name and stay on their characters while someone types before them, undo (keys and button)
// reverts only one's own edits, and edits made offline merge when the page goes online again.
//   scripts/netns.sh node --test tests/e2e/editor.test.js
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { startBrowserAndServer, waitUntil } from './helpers/browser.js';
import { waitForPeople, statusOf } from './helpers/chat-page.js';
import { caretTo, contentOf, converged, cursorsOf, openEditor } from './helpers/editor-page.js';

let env;
before(async () => {
  env = await startBrowserAndServer();
});
after(async () => {
  await env?.close();
});

let rooms = 0;
const newRoom = () => `editor-${process.pid}-${++rooms}`;
const open = (opts) => openEditor(env.browser, env.server, opts);
const closeAll = (people) => Promise.all(people.map((p) => p.context.close()));

test('two people write together: text both ways, a named remote cursor that keeps its place, undo of one\'s own edits only', { timeout: 90_000 }, async () => {
  const room = newRoom();
  const ada = await open({ name: 'Ada', room });
  const bo = await open({ name: 'Bo', room });
  const people = [ada, bo];
  try {
    for (const p of people) await waitForPeople(p, ['Ada', 'Bo']);

    await caretTo(ada, 'end');
    await ada.page.keyboard.type('Hello from Ada', { delay: 5 });
    assert.equal(await converged(people), 'Hello from Ada');

    // Ada selects "from" with the keyboard; Bo sees her caret, named, and the selection.
    await ada.page.keyboard.press('Home');
    for (let i = 0; i < 6; i++) await ada.page.keyboard.press('ArrowRight');
    for (let i = 0; i < 4; i++) await ada.page.keyboard.press('Shift+ArrowRight');
    let seen;
    await waitUntil(async () => {
      seen = await cursorsOf(bo);
      return seen.length === 1 && seen[0].name === 'Ada' && seen[0].selected === 'from';
    }, { message: 'Bo to see Ada\'s selection of "from"' }).catch((err) => { err.message += `; seen ${JSON.stringify(seen)}`; throw err; });
    assert.equal(seen[0].pos, 10, 'her caret is at the end of the selection');

    // Bo types before it: Ada's selection stays on "from" (sticky anchors, not indexes).
    await caretTo(bo, 'start');
    await bo.page.keyboard.type('Bo: ', { delay: 5 });
    assert.equal(await converged(people), 'Bo: Hello from Ada');
    await waitUntil(async () => {
      seen = await cursorsOf(bo);
      return seen.length === 1 && seen[0].selected === 'from' && seen[0].pos === 14;
    }, { message: 'Ada\'s cursor to stay on "from" while Bo types' }).catch((err) => { err.message += `; seen ${JSON.stringify(seen)}`; throw err; });
    // And Ada sees Bo's caret right after what he typed.
    await waitUntil(async () => (await cursorsOf(ada)).some((c) => c.name === 'Bo' && c.pos === 4), { message: 'Ada to see Bo\'s caret' });
    // His name over it fades once he stops (it would hide the line above); hovering the caret's
    // dot shows it again.
    const labelOpacity = () => ada.page.$eval('.cm-rs-label', (l) => Number(getComputedStyle(l).opacity));
    await waitUntil(async () => (await labelOpacity()) === 0, { message: 'Bo\'s name to fade', timeoutMs: 10_000 });
    await ada.page.hover('.cm-rs-dot');
    await waitUntil(async () => (await labelOpacity()) === 1, { message: 'Bo\'s name on hover' });

    // Undo in Ada's page (Ctrl+Z until nothing is left to undo: a slow typist makes several
    // steps) removes her text only; Bo's stays. Redo (the button) brings it back.
    await ada.page.click('.cm-content');
    for (let i = 0; i < 20 && !(await ada.page.$eval('#undo', (b) => b.disabled)); i++) await ada.page.keyboard.press('Control+z');
    assert.equal(await converged(people), 'Bo: ');
    for (let i = 0; i < 20 && !(await ada.page.$eval('#redo', (b) => b.disabled)); i++) await ada.page.click('#redo');
    assert.equal(await converged(people), 'Bo: Hello from Ada');
    // Bo's undo button takes back "Bo: " and nothing of Ada's.
    for (let i = 0; i < 20 && !(await bo.page.$eval('#undo', (b) => b.disabled)); i++) await bo.page.click('#undo');
    assert.equal(await converged(people), 'Hello from Ada');
    for (const p of people) assert.deepEqual(p.errors, []);
  } finally {
    await closeAll(people);
  }
});

test('edits made offline merge when the page goes online again', { timeout: 90_000 }, async () => {
  const room = newRoom();
  const ada = await open({ name: 'Ada', room });
  const bo = await open({ name: 'Bo', room });
  const people = [ada, bo];
  try {
    for (const p of people) await waitForPeople(p, ['Ada', 'Bo']);
    await caretTo(ada, 'end');
    await ada.page.keyboard.type('line one\n', { delay: 5 });
    await converged(people);

    await ada.page.click('#online'); // the page's "Go offline" switch
    await waitUntil(async () => (await statusOf(ada)) === 'offline', { message: 'Ada offline' });
    await caretTo(ada, 'end');
    await ada.page.keyboard.type('Ada was offline', { delay: 5 });
    await caretTo(bo, 'start');
    await bo.page.keyboard.type('Bo stayed. ', { delay: 5 });
    assert.equal(await contentOf(ada), 'line one\nAda was offline');
    await waitUntil(async () => (await contentOf(bo)) === 'Bo stayed. line one\n', { message: 'Bo\'s own edit' });

    await ada.page.click('#online');
    assert.equal(await converged(people, { message: 'both edits to merge' }), 'Bo stayed. line one\nAda was offline');
    await waitUntil(async () => (await statusOf(ada)) === 'synced' && (await statusOf(bo)) === 'synced', { message: 'both synced' });
    for (const p of people) assert.deepEqual(p.errors, []);
  } finally {
    await closeAll(people);
  }
});
