// Run as a child process by transport.test.js: a server and four peers connect (a-b over a data
// channel, c-d through the relay only), exchange frames and close. The process must then exit by itself: any
// timer, socket or peer connection left behind would keep it alive.
import { startServer, makePeer, opened, waitUntil, unreachableRtc } from './peers.js';

const srv = await startServer();
const a = await makePeer(srv, 'exit-check');
const b = await makePeer(srv, 'exit-check');
const c = await makePeer(srv, 'exit-check', { rtc: unreachableRtc, connectTimeoutMs: 300 });
const d = await makePeer(srv, 'exit-check', { rtc: unreachableRtc, connectTimeoutMs: 300 });
a.transport.connect(b.id);
c.transport.connect(d.id);
await opened(a, b.id);
await opened(c, d.id, 'relay');
a.transport.send(b.id, new Uint8Array(1000));
c.transport.send(d.id, new Uint8Array(65536));
await waitUntil(() => b.received(a.id).length === 1 && d.received(c.id).length === 1, { message: 'frames' });
// c and d are re-dialling with backoff (timers pending): close must stop them all.
await waitUntil(() => c.errors.length >= 3, { message: 'c re-dialling' });
console.log('frames ok');
await Promise.all([a.close(), b.close(), c.close(), d.close()]);
await srv.close();
