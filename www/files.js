// File sharing over the room's 'file' action: the bytes go to every peer (chunked, with
// backpressure, by the room core), and both sides show progress. A received file becomes a
// download link. Metadata from peers is checked before it is shown.
const MAX_BYTES = 32 * 1024 * 1024 - 64; // the room's message limit (32 MiB) minus our framing

const el = (tag, className, text) => {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
};

export function formatBytes(n) {
  if (n < 1000) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(n < 1e4 ? 1 : 0)} kB`;
  return `${(n / 1e6).toFixed(1)} MB`;
}

/**
 * ui: { list, empty, input, nameOf(peerId) }. attach(room) binds a joined room (again after each
 * rejoin); transfers already shown stay.
 */
export function createFiles({ list, empty, input, nameOf }) {
  const rows = new Map(); // key -> { li, bar, pct, sub, ... }
  let room = null;
  let offs = [];

  const show = () => { empty.hidden = rows.size > 0; };

  function row(key, { name, size, direction, who }) {
    let r = rows.get(key);
    if (r) return r;
    const li = el('li', 'transfer');
    li.dataset.direction = direction;
    const icon = el('span', 'file-icon', direction === 'out' ? '↑' : '↓');
    icon.setAttribute('aria-hidden', 'true');
    const body = el('div', 'transfer-body');
    const title = el('div', 'transfer-name', name);
    title.title = name;
    const sub = el('div', 'transfer-sub muted');
    const bar = el('progress');
    bar.max = 1;
    bar.value = 0;
    body.append(title, sub, bar);
    li.append(icon, body);
    list.prepend(li);
    r = { li, bar, sub, size, direction, who, done: false };
    rows.set(key, r);
    setState(r, direction === 'out' ? 'sending' : 'receiving', 0);
    show();
    return r;
  }

  function setState(r, state, fraction, note) {
    r.li.dataset.state = state;
    if (fraction !== undefined) r.bar.value = fraction;
    r.bar.hidden = state === 'sent' || state === 'received' || state === 'failed';
    const pct = fraction !== undefined ? `${Math.floor(fraction * 100)}%` : '';
    const text = {
      sending: `to ${r.who} · ${formatBytes(r.size)} · ${pct}`,
      receiving: `from ${r.who} · ${formatBytes(r.size)} · ${pct}`,
      sent: `sent to ${r.who} · ${formatBytes(r.size)}`,
      received: `from ${r.who} · ${formatBytes(r.size)}`,
      failed: note || 'failed',
    }[state];
    r.sub.textContent = text;
    r.li.dataset.progress = String(fraction ?? r.bar.value);
  }

  async function sendFile(file) {
    if (!room) return;
    const id = crypto.randomUUID();
    const peers = room.getPeers();
    const r = row(`out/${id}`, { name: file.name, size: file.size, direction: 'out', who: peers.length === 1 ? nameOf(peers[0]) : `${peers.length} people` });
    if (peers.length === 0) return setState(r, 'failed', 0, 'Nobody else is in the room to send it to.');
    if (file.size > MAX_BYTES) return setState(r, 'failed', 0, `${formatBytes(file.size)} is over the 32 MB limit.`);
    const [send] = room.makeAction('file');
    const fractions = new Map(peers.map((p) => [p, 0]));
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      await send(bytes, {
        metadata: { id, name: file.name.slice(0, 200), type: file.type.slice(0, 100), size: file.size },
        onProgress: (f, peer) => {
          fractions.set(peer, f);
          const all = [...fractions.values()];
          setState(r, 'sending', all.reduce((a, b) => a + b, 0) / all.length);
        },
      });
      setState(r, 'sent', 1);
    } catch (err) {
      setState(r, 'failed', undefined, `Not sent: ${err.message}`);
    }
  }

  input.addEventListener('change', () => {
    const [file] = input.files;
    input.value = '';
    if (file) sendFile(file);
  });

  const checkMeta = (m) => m && typeof m === 'object' && typeof m.id === 'string' && m.id.length <= 64 &&
    typeof m.name === 'string' && Number.isSafeInteger(m.size) && m.size >= 0;

  return {
    attach(r) {
      this.detach();
      room = r;
      const [, onFile, onProgress] = room.makeAction('file');
      offs = [
        onProgress((f, peer, meta) => {
          if (!checkMeta(meta)) return;
          const t = row(`in/${peer}/${meta.id}`, { name: meta.name.slice(0, 200) || 'file', size: meta.size, direction: 'in', who: nameOf(peer) });
          if (!t.done) setState(t, 'receiving', f);
        }),
        onFile((data, peer, meta) => {
          if (!checkMeta(meta) || !(data instanceof Uint8Array)) return;
          const t = row(`in/${peer}/${meta.id}`, { name: meta.name.slice(0, 200) || 'file', size: data.length, direction: 'in', who: nameOf(peer) });
          t.done = true;
          t.size = data.length;
          setState(t, 'received', 1);
          const link = el('a', 'btn small', 'Download');
          link.href = URL.createObjectURL(new Blob([data], { type: typeof meta.type === 'string' ? meta.type : '' }));
          link.download = t.li.querySelector('.transfer-name').textContent;
          t.li.append(link);
        }),
        room.onPeerLeave((peer) => {
          for (const [key, t] of rows) {
            if (key.startsWith(`in/${peer}/`) && !t.done) setState(t, 'failed', undefined, `${t.who} left before the file arrived.`);
          }
        }),
      ];
    },
    detach() {
      for (const off of offs) off();
      offs = [];
      room = null;
    },
  };
}
