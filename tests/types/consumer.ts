// A small app that uses all three entry points of the package, type-checked with strict tsc by
// tests/js/types.test.js (in place) and tests/js/package.test.js (installed from the packed
// tarball). Never run: it only has to compile, with lib es2022 alone (no DOM, no @types/node).
import { createDoc, createUndoManager, memoryUsage, OutOfMemoryError, setMemoryLimit, type Doc, type DeltaOp, type List, type ListDeltaOp, type MemoryUsage, type StickyIndex, type UndoManager, type UndoStackEvent } from 'roomsync';
import { connectSignaling, SignalingError, type Signaling } from 'roomsync/signaling';
import { createServer, defaultStaticDirs, type ServerOptions, type SignalingServer } from 'roomsync/server';
import * as browser from 'roomsync/browser';

// Each import must be typed, not `any` (an `any` would hide a missing declaration file).
type IsAny<T> = 0 extends 1 & T ? true : false;
const typed: [IsAny<typeof createDoc>, IsAny<typeof connectSignaling>, IsAny<typeof createServer>] = [false, false, false];

const options: ServerOptions = {
  port: 0,
  logger: 'warn',
  authorizeRoom: async ({ userId, room }) => (userId.length > 0 && room !== 'private') || 'forbidden',
  rateLimits: { comment: { rate: 1, burst: 1 }, signal: false },
  staticDirs: [...defaultStaticDirs().filter((m) => m.prefix !== '/'), { prefix: '/app/', dir: 'public', files: ['*.html'] }],
};
const server: SignalingServer = await createServer(options);
const port: number = server.port;
const joins: number = server.stats().joins;

const doc: Doc = await createDoc({ clientId: 1 });
const text = doc.getText('notes');
text.observe(({ delta }) => {
  const ops: DeltaOp[] = delta;
  void ops;
});
text.insert(0, 'hello');
const cursor: StickyIndex = text.stickyIndex(2, -1);
const cursorAt: number | null = text.resolveSticky(JSON.parse(JSON.stringify(cursor)) as StickyIndex);
void cursorAt;

// A typed list: values, events and iteration carry the element type.
type Todo = { title: string; done: boolean };
const todos: List<Todo> = doc.getList<Todo>('todos');
todos.push({ title: 'write', done: false }, { title: 'ship', done: true });
todos.insert(0, { title: 'plan', done: true });
todos.delete(1);
todos.delete(0, 1);
const first: Todo | undefined = todos.get(0);
const titles: string[] = todos.toArray().map((t) => t.title);
for (const t of todos) titles.push(t.title);
const count: number = todos.length;
todos.observe(({ delta, target }) => {
  const ops: ListDeltaOp<Todo>[] = delta;
  for (const op of ops) if ('insert' in op) titles.push(...op.insert.map((t) => t.title));
  void target.length;
});
const anyList = doc.getList('misc');
anyList.push(1, 'two', [3], { four: 4 }, null);
const raw: unknown = anyList.get(0);
void [first, count, raw];

// Undo and redo.
const undoManager: UndoManager = createUndoManager([text, doc.getMap('m')], { captureTimeout: 300, trackedOrigins: [null, 'ui'] });
undoManager.on('stack-item-added', (e: UndoStackEvent) => { const kind: 'undo' | 'redo' = e.type; void kind; });
undoManager.on('stack-cleared', ({ redoStackCleared }) => { const b: boolean = redoStackCleared; void b; });
const undid: boolean = undoManager.canUndo && undoManager.undo();
undoManager.stopCapturing();
createUndoManager(doc).destroy();

let lastError: string | null = null;
const peer: Signaling = await connectSignaling({ url: server.url, room: 'notes' });
doc.on('update', (update: Uint8Array) => {
  peer.broadcast({ kind: 'update', bytes: Array.from(update) }).catch((err: unknown) => {
    if (err instanceof SignalingError) lastError = err.code;
  });
});

// memory (issue 8)
const limit: number = await setMemoryLimit(512 * 2 ** 20);
const usage: MemoryUsage = await memoryUsage();
try {
  doc.getText('notes').insert(0, 'x');
} catch (err) {
  if (err instanceof OutOfMemoryError) lastError = err.code;
}
void limit; void usage.usedBytes;

await peer.leave();
doc.destroy();
await server.close({ code: 1001 });
// roomsync/browser (the self-contained browser bundle): the same API and types, in one module.
const bundled: [IsAny<typeof browser.createDoc>, IsAny<typeof browser.joinRoom>, IsAny<typeof browser.connectSignaling>] = [false, false, false];
const sameDoc: Doc = await browser.createDoc();
const bundledError: typeof SignalingError = browser.SignalingError;
sameDoc.getText('notes').insert(0, 'hi');
const bundledUndo: UndoManager = browser.createUndoManager(sameDoc);

// ---- calls: room.call() (declared without lib "dom": MediaStream is an opaque type here)
async function useCall(room: import('roomsync').Room): Promise<number> {
  const call: import('roomsync').Call = await room.call({ audio: true, video: false, maxPeers: 3 });
  const offs = [
    call.on('peer-joined', (p) => void [p.id, p.stream, p.media === 'live']),
    call.on('track', (peerId: string, stream: MediaStream, track: MediaStreamTrack) => void [peerId, stream, track]),
    call.on('state', (id, s) => void [id, s.muted && s.camera && s.talking]),
    call.on('error', (err) => void (err.code === 'call_full')),
    call.on('leave', (why: 'left' | 'full') => void why),
  ];
  call.setMuted(true);
  call.setCamera(false);
  const peers: import('roomsync').CallPeer[] = call.peers();
  for (const off of offs) off();
  await call.leave();
  return peers.length + call.startedAt;
}
void useCall;

export { typed, port, joins, lastError, bundled, bundledError };
export { undid, bundledUndo };
