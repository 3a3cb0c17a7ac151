// Editor: a CodeMirror 6 editor on the room's Text through roomsync/codemirror. Edits travel as
// deltas both ways, the other people's cursors and selections show in their colours (sticky
// anchors in presence, so they stay on their characters while others type), and undo/redo
// revert only this user's edits. Offline edits stay in the document and merge on return.
//
// No bundler: roomsync comes from /dist/roomsync.browser.js, CodeMirror and the binding from
// /dist/roomsync.codemirror.js (built by scripts/build.sh wasm; no roomsync inside, so the page
// has one roomsync instance).
import { createDoc, createUndoManager } from '/dist/roomsync.browser.js';
import {
  Compartment, EditorState, EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter,
  drawSelection, dropCursor, highlightSpecialChars, placeholder, defaultKeymap, indentWithTab,
  syntaxHighlighting, defaultHighlightStyle, HighlightStyle, tags, indentOnInput, bracketMatching, markdownLanguage, roomsyncCollab,
} from '/dist/roomsync.codemirror.js';
import { startShell } from './shell.js';

const $ = (id) => document.getElementById(id);

const shell = await startShell({ product: 'Editor' });
const doc = await createDoc();
const text = doc.getText('body');
// Tracks nothing by itself: the binding adds its own origin, so only this user's typing counts.
const undoManager = createUndoManager(text, { trackedOrigins: [] });

// The binding follows the shell's room: it is a new Room after every "Go online".
const collab = new Compartment();
let boundRoom = null;
const collabFor = (room) => roomsyncCollab(text, { room, undoManager, publish: (fields) => shell.setPresence(fields) });

// Markdown that reads like a document: headings bold, not underlined; marks and links coloured.
const markdownStyle = HighlightStyle.define([
  { tag: tags.heading1, fontWeight: '700', fontSize: '1.3em' },
  { tag: tags.heading2, fontWeight: '700', fontSize: '1.12em' },
  { tag: [tags.heading3, tags.heading4, tags.heading5, tags.heading6], fontWeight: '700' },
  { tag: tags.strong, fontWeight: '700' },
  { tag: tags.emphasis, fontStyle: 'italic' },
  { tag: tags.strikethrough, textDecoration: 'line-through' },
  { tag: tags.link, color: '#4c5ce6' },
  { tag: tags.url, color: '#697080' },
  { tag: tags.monospace, color: '#b4236b' },
  { tag: tags.quote, color: '#697080', fontStyle: 'italic' },
  { tag: [tags.processingInstruction, tags.contentSeparator], color: '#a3a9b5' }, // # * - > markers
]);

const view = new EditorView({
  parent: $('editor'),
  state: EditorState.create({
    doc: text.toString(),
    extensions: [
      lineNumbers(), highlightActiveLineGutter(), highlightSpecialChars(), drawSelection(), dropCursor(),
      indentOnInput(), bracketMatching(), highlightActiveLine(), EditorView.lineWrapping,
      syntaxHighlighting(markdownStyle), syntaxHighlighting(defaultHighlightStyle, { fallback: true }), markdownLanguage.extension,
      placeholder('Start writing. Everyone in this room sees it as you type.'),
      keymap.of([...defaultKeymap, indentWithTab]),
      collab.of(collabFor(null)),
      EditorView.updateListener.of((u) => {
        if (u.docChanged) {
          counts();
          if (u.transactions.some((tr) => tr.isUserEvent('input') || tr.isUserEvent('delete'))) shell.room?.presence.typing();
        }
      }),
    ],
  }),
});

function counts() {
  const n = view.state.doc.length, lines = view.state.doc.lines;
  $('counts').textContent = `${n.toLocaleString()} character${n === 1 ? '' : 's'} · ${lines} line${lines === 1 ? '' : 's'}`;
}

// Undo / redo buttons (the keys are bound by the binding).
const buttons = () => {
  $('undo').disabled = !undoManager.canUndo;
  $('redo').disabled = !undoManager.canRedo;
};
for (const e of ['stack-item-added', 'stack-item-popped', 'stack-cleared']) undoManager.on(e, buttons);
$('undo').addEventListener('click', () => { undoManager.undo(); view.focus(); });
$('redo').addEventListener('click', () => { undoManager.redo(); view.focus(); });

shell.onChange(() => {
  if (shell.room !== boundRoom) {
    boundRoom = shell.room;
    view.dispatch({ effects: collab.reconfigure(collabFor(boundRoom)) });
  }
  $('alone').hidden = !shell.room || shell.room.getPeers().length > 0;
});

await shell.join({ doc });
counts();
// For scripts and tests.
Object.defineProperty(window, 'editor', { value: { view, doc, text, undoManager }, configurable: true });
