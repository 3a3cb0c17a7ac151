// An in-memory stand-in for the signaling server (no sockets, no WebRTC), for relay-path tests
// that need to tamper with messages: `hub.tamper(from, to, bytes)` returns the list of byte
// arrays to deliver (none = dropped, two = duplicated); `hub.tamperSignal(from, to, data)` the
// same for signal payloads. `hub.remove(peerId)`: the peer left (signals to it: unknown_peer).
export function fakeHub() {
  const members = new Map(); // peerId -> listeners
  const hub = {
    tamper: (from, to, bytes) => [bytes],
    tamperSignal: (from, to, data) => [data],
    remove: (peerId) => members.delete(peerId),
    member(peerId) {
      const listeners = { signal: new Set(), relay: new Set() };
      members.set(peerId, listeners);
      const deliver = (to, event, msg) => {
        const target = members.get(to);
        if (!target) return Promise.reject(Object.assign(new Error('unknown_peer'), { code: 'unknown_peer' }));
        setImmediate(() => target[event].forEach((cb) => cb(msg)));
        return Promise.resolve();
      };
      return {
        peerId,
        on(event, cb) {
          listeners[event]?.add(cb);
          return () => listeners[event]?.delete(cb);
        },
        async signal(to, data) {
          for (const d of hub.tamperSignal(peerId, to, JSON.parse(JSON.stringify(data)))) await deliver(to, 'signal', { from: peerId, data: d });
        },
        async relay(to, data) {
          for (const bytes of hub.tamper(peerId, to, new Uint8Array(data))) await deliver(to, 'relay', { from: peerId, data: bytes });
        },
      };
    },
  };
  return hub;
}
