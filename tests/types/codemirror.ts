// An app using roomsync/codemirror, type-checked with strict tsc (lib dom: CodeMirror's types need it)
// by tests/js/codemirror.test.js. Never run: it only has to compile.
import { roomsyncCollab, RoomsyncBinding, undoKeymap, colorOf, roomsyncRemote, type RemoteCursor } from 'roomsync/codemirror';
import { createDoc, createUndoManager } from 'roomsync';
import { EditorState } from '@codemirror/state';
const doc = await createDoc();
const text = doc.getText('t');
const undoManager = createUndoManager(text, { trackedOrigins: [] });
const state = EditorState.create({ doc: text.toString(), extensions: [roomsyncCollab(text, { undoManager, user: { name: 'a', color: '#000000' }, publish: (f) => { void f.cursor?.anchor.t; } })] });
const b = new RoomsyncBinding(text, { dispatch: () => {} });
const c: RemoteCursor[] = b.remoteCursors();
const s: string = colorOf('x');
void state; void c; void s; void undoKeymap(undoManager); void roomsyncRemote;
