// Run as a child process by room.test.js: a server and two rooms (one over a data channel, one
// pair relay-only) join, sync and leave. The process must then exit by itself: a timer, socket
// or peer connection left behind would keep it alive.
import { startServer, waitUntil, wrtc, unreachableRtc } from './peers.js';
import { joinRoom } from '../../../js/index.js';

const srv = await startServer();
const opts = (rtcPolyfill) => ({ signaling: srv.url, room: 'exit-check', rtcPolyfill });
const rooms = [await joinRoom(opts(wrtc)), await joinRoom(opts(wrtc))];
rooms[0].doc.getText('t').insert(0, 'x');
await waitUntil(() => rooms[1].doc.getText('t').toString() === 'x' && rooms[1].peerInfo(rooms[0].peerId)?.via === 'datachannel', { message: 'sync over the data channel' });
const relayed = [await joinRoom({ ...opts(unreachableRtc), room: 'exit-check-2' }), await joinRoom({ ...opts(unreachableRtc), room: 'exit-check-2' })];
relayed[0].doc.getText('t').insert(0, 'y');
await waitUntil(() => relayed[1].doc.getText('t').toString() === 'y', { message: 'sync over the relay' });
relayed[0].presence.typing();
console.log('synced ok');
await Promise.all([...rooms, ...relayed].map((r) => r.leave()));
await srv.close();
