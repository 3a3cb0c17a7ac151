// Type declarations for roomsync/codemirror (js/codemirror.js): a CodeMirror 6 binding.
import type { Annotation, Extension, EditorState, Transaction, TransactionSpec } from '@codemirror/state';
import type { KeyBinding } from '@codemirror/view';
import type { Text, UndoManager, Room, StickyIndex } from './index.js';

/** What this user shows to the others next to their cursor; merged into room presence. */
export interface CollabUser {
  name?: string;
  /** '#rrggbb'; other peers derive one from the peer id when absent. */
  color?: string;
  [key: string]: unknown;
}

export interface CollabOptions {
  /** Publishes this selection in the room's presence (`cursor: { anchor, head }`, sticky anchors) and draws the other peers'. */
  room?: Pick<Room, 'peerId' | 'presence'> | null;
  /** Bound to Mod-z / Mod-Shift-z / Mod-y; the binding adds itself to its trackedOrigins. */
  undoManager?: UndoManager | null;
  user?: CollabUser | null;
  /**
   * How to add `{ ...user, cursor }` to this peer's presence, for apps that manage presence
   * themselves (presence.set replaces the whole state). Default: merged into the current state.
   */
  publish?: ((fields: { cursor?: { anchor: StickyIndex; head: StickyIndex }; [key: string]: unknown }) => void) | null;
}

/** Another peer's cursor resolved in the Text now (indexes in UTF-16 code units). */
export interface RemoteCursor {
  peerId: string;
  name: string;
  color: string;
  anchor: number;
  head: number;
}

/**
 * The CodeMirror extension that keeps the editor and `text` in sync through deltas both ways,
 * shows remote cursors and binds undo. Create the editor's state with `doc: text.toString()`.
 * Includes `EditorState.lineSeparator.of('\n')`; leave CodeMirror's own history() out.
 */
export function roomsyncCollab(text: Text, options?: CollabOptions): Extension;

/** Marks the transactions the binding makes from roomsync changes (they are not sent back). */
export const roomsyncRemote: Annotation<boolean>;

/** Mod-z, Mod-Shift-z, Mod-y bound to an UndoManager (roomsyncCollab adds it when given one). */
export function undoKeymap(undoManager: UndoManager): readonly KeyBinding[];

/** A colour for a peer id, stable across peers. */
export function colorOf(peerId: string): string;

/** The synchronisation without a view (headless uses, tests); roomsyncCollab wires it to an EditorView. */
export class RoomsyncBinding {
  constructor(text: Text, options: CollabOptions & { dispatch: (spec: TransactionSpec) => void });
  readonly text: Text;
  /** Applies the editor's own transactions to the Text; `state` (the state after them) publishes the selection. */
  update(transactions: readonly Transaction[], state?: EditorState): void;
  /** Other peers' cursors, resolved now. */
  remoteCursors(): RemoteCursor[];
  /** Publishes this user's selection and `user` in room presence now. */
  publishCursor(): void;
  destroy(): void;
}
