// Entry point of dist/roomsync.codemirror.js (scripts/build.sh wasm bundles it with esbuild): the
// CodeMirror 6 pieces an editor page needs and roomsync/codemirror, in one ES module for pages
// without a bundler (www/editor.js). roomsync itself is not inside: the binding only works on the
// Text, UndoManager and Room it is given, so the page keeps one roomsync instance
// (/dist/roomsync.browser.js).
export { EditorState, Compartment } from '@codemirror/state';
export {
  EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter, drawSelection,
  dropCursor, highlightSpecialChars, placeholder, rectangularSelection,
} from '@codemirror/view';
export { defaultKeymap, indentWithTab } from '@codemirror/commands';
export { syntaxHighlighting, defaultHighlightStyle, HighlightStyle, indentOnInput, bracketMatching } from '@codemirror/language';
export { tags } from '@lezer/highlight';
export { markdownLanguage } from '@codemirror/lang-markdown'; // the Markdown parser alone (markdown() also pulls in HTML, CSS and JS: +70 KB gzip)
export { roomsyncCollab, roomsyncRemote, undoKeymap, colorOf } from './codemirror.js';
