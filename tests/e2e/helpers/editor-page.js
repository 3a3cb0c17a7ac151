// Drives the editor page (www/editor.html) the way a person does, one browser context per person,
// and reads what the page shows. Used by tests/e2e/editor.test.js and tests/e2e/screenshots-editor.js.
import { waitUntil } from './browser.js';

/** A person opening the editor in its own browser context; resolves once the page has joined. */
export async function openEditor(browser, server, { name, room, viewport = { width: 1100, height: 800 }, deviceScaleFactor = 1 }) {
  const context = await browser.newContext({ viewport, deviceScaleFactor });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`${server.httpUrl}/editor.html?${new URLSearchParams({ room, name })}`);
  await waitUntil(() => page.evaluate(() => window.shell?.room != null && window.editor != null),
    { timeoutMs: 60_000, message: `${name}'s editor to join` });
  return { name, page, context, errors };
}

/** The document as the editor holds it (what its lines show, without other people's labels). */
export const contentOf = (p) => p.page.evaluate(() => window.editor.view.state.doc.toString());

/** Waits until every person's editor shows the same text; returns it. */
export async function converged(people, { message = 'the editors to agree', timeoutMs = 30_000 } = {}) {
  let texts;
  await waitUntil(async () => {
    texts = await Promise.all(people.map(contentOf));
    return texts.every((t) => t === texts[0]);
  }, { timeoutMs, message }).catch((err) => {
    err.message += `; last seen: ${JSON.stringify(texts)}`;
    throw err;
  });
  return texts[0];
}

/**
 * The other people's cursors drawn in p's editor: [{ name, color, pos, selected }] where pos is the
 * caret's place in the document and selected the text highlighted in that person's colour.
 */
export const cursorsOf = (p) => p.page.evaluate(() => {
  const view = window.editor.view;
  return [...document.querySelectorAll('.cm-rs-caret')].map((caret) => {
    const label = caret.querySelector('.cm-rs-label');
    const marks = [...document.querySelectorAll('.cm-rs-selection')].filter((m) => m.dataset.peer === caret.dataset.peer);
    return { name: label.textContent, color: label.style.backgroundColor, pos: view.posAtDOM(caret), selected: marks.map((m) => m.textContent).join('') };
  });
});

/** Clicks into the editor and moves the caret to the start or the end of the document. */
export async function caretTo(p, where) {
  await p.page.click('.cm-content');
  await p.page.keyboard.press(where === 'start' ? 'Control+Home' : 'Control+End');
}
