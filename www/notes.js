// Shared notes: one collaborative Text per room, synced through the signaling server's relay.
// Uses only the public APIs (createDoc, connectSignaling). The catch-up on join (state vector
// -> missing updates) is the demo's own; the room core will take it over.
import { createDoc } from '/js/index.js';
import { connectSignaling } from '/js/signaling.js';

const $ = (id) => document.getElementById(id);
const status = $('status');
const area = $('notes');
const roomInput = $('room');
const peerList = $('peers');

const SV = 1; // frame kinds on the relay: [kind, ...bytes]
const UPDATE = 2;
const frame = (kind, bytes) => {
  const out = new Uint8Array(bytes.length + 1);
  out[0] = kind;
  out.set(bytes, 1);
  return out;
};

let session = null;

async function join(room) {
  if (session) await session.close();
  area.disabled = true;
  status.textContent = `joining ${room}…`;
  const doc = await createDoc();
  const text = doc.getText('notes');
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/socket`;
  const sig = await connectSignaling({ url, room });
  const send = (to, kind, bytes) => sig.relay(to, frame(kind, bytes)).catch((err) => {
    status.textContent = `relay to ${to.slice(0, 6)} failed: ${err.code || err.message}`;
  });

  // Local edits go to every peer; remote ones are applied with origin 'remote'.
  doc.on('update', (update, origin) => {
    if (origin !== 'remote') for (const peer of sig.peers()) send(peer, UPDATE, update);
  });
  sig.on('relay', ({ from, data }) => {
    try {
      if (data[0] === SV) send(from, UPDATE, doc.encodeStateSince(data.subarray(1)));
      else if (data[0] === UPDATE) doc.applyUpdate(data.subarray(1), 'remote');
    } catch (err) {
      status.textContent = `ignored a bad message from ${from.slice(0, 6)}: ${err.message}`;
    }
  });
  // Whoever meets a peer asks it for what it lacks, so both sides catch up.
  const hello = (peer) => send(peer, SV, doc.stateVector());
  sig.on('peer-join', hello);
  sig.peers().forEach(hello);
  const showPeers = () => {
    peerList.replaceChildren(
      Object.assign(document.createElement('li'), { className: 'me', textContent: `you (${sig.peerId.slice(0, 6)})` }),
      ...sig.peers().map((p) => Object.assign(document.createElement('li'), { textContent: p.slice(0, 6) })),
    );
    status.textContent = `room “${room}” · ${sig.peers().length + 1} here`;
  };
  sig.on('sync', showPeers);
  showPeers();

  // Remote deltas move the textarea's content and keep the caret where the user left it.
  text.observe(({ delta, origin }) => {
    if (origin !== 'remote') return;
    let { selectionStart: start, selectionEnd: end } = area;
    let pos = 0;
    for (const op of delta) {
      if (op.retain) pos += op.retain;
      else if (op.insert) {
        if (pos <= start) start += op.insert.length;
        if (pos < end) end += op.insert.length;
        pos += op.insert.length;
      } else if (op.delete) {
        start -= Math.max(0, Math.min(op.delete, start - pos));
        end -= Math.max(0, Math.min(op.delete, end - pos));
      }
    }
    area.value = text.toString();
    area.setSelectionRange(start, end);
  });

  // A textarea only says "something changed": turn it into one splice by common prefix/suffix.
  area.value = text.toString();
  area.oninput = () => {
    const before = text.toString();
    const after = area.value;
    let p = 0;
    while (p < before.length && p < after.length && before[p] === after[p]) p++;
    let s = 0;
    while (s < before.length - p && s < after.length - p && before[before.length - 1 - s] === after[after.length - 1 - s]) s++;
    // Never cut a surrogate pair in two.
    if (p > 0 && /[\uD800-\uDBFF]/.test(before[p - 1])) p--;
    if (s > 0 && /[\uDC00-\uDFFF]/.test(before[before.length - s])) s--;
    doc.transact(() => {
      if (before.length - p - s > 0) text.delete(p, before.length - p - s);
      if (after.length - p - s > 0) text.insert(p, after.slice(p, after.length - s));
    }, 'local');
  };
  area.disabled = false;
  area.focus();
  session = {
    async close() {
      await sig.leave();
      doc.destroy();
    },
  };
}

roomInput.value = decodeURIComponent(location.hash.slice(1)) || 'lobby';
roomInput.onchange = () => {
  location.hash = encodeURIComponent(roomInput.value);
  join(roomInput.value).catch(showError);
};
const showError = (err) => { status.textContent = `error: ${err.message}`; };
join(roomInput.value).catch(showError);
