// A small app that uses all three entry points of the package, type-checked with strict tsc by
// tests/js/types.test.js (in place) and tests/js/package.test.js (installed from the packed
// tarball). Never run: it only has to compile, with lib es2022 alone (no DOM, no @types/node).
import { createDoc, memoryUsage, OutOfMemoryError, setMemoryLimit, type Doc, type DeltaOp, type MemoryUsage } from 'roomsync';
import { connectSignaling, SignalingError, type Signaling } from 'roomsync/signaling';
import { createServer, defaultStaticDirs, type ServerOptions, type SignalingServer } from 'roomsync/server';

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
export { typed, port, joins, lastError };
