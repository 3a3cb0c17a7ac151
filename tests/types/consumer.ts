// A small app that uses all three entry points of the package, type-checked with strict tsc by
// tests/js/types.test.js (in place) and tests/js/package.test.js (installed from the packed
// tarball). Never run: it only has to compile, with lib es2022 alone (no DOM, no @types/node).
import { createDoc, type Doc, type DeltaOp } from 'roomsync';
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

let lastError: string | null = null;
const peer: Signaling = await connectSignaling({ url: server.url, room: 'notes' });
doc.on('update', (update: Uint8Array) => {
  peer.broadcast({ kind: 'update', bytes: Array.from(update) }).catch((err: unknown) => {
    if (err instanceof SignalingError) lastError = err.code;
  });
});

await peer.leave();
doc.destroy();
await server.close({ code: 1001 });
// roomsync/browser (the self-contained browser bundle): the same API and types, in one module.
const bundled: [IsAny<typeof browser.createDoc>, IsAny<typeof browser.joinRoom>, IsAny<typeof browser.connectSignaling>] = [false, false, false];
const sameDoc: Doc = await browser.createDoc();
const bundledError: typeof SignalingError = browser.SignalingError;
sameDoc.getText('notes').insert(0, 'hi');

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
// ---- end calls

export { typed, port, joins, lastError, bundled, bundledError };
