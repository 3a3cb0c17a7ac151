// The people panel: one row per peer with its name and colour (presence), whether it is typing,
// how this tab reaches it (direct data channel, server relay, or gossip through other peers) and
// whether it is in sync. Names come from other peers: they are only ever set as textContent.

export const COLORS = ['#e5484d', '#f76b15', '#d6a000', '#30a46c', '#12a594', '#0090ff', '#6e56cf', '#d6409f'];

const ROUTES = {
  datachannel: ['Direct', 'Peer-to-peer WebRTC data channel'],
  relay: ['Relay', 'Through the signaling server until a direct connection opens (or when none can)'],
  gossip: ['Gossip', 'No connection of its own: edits travel through other peers'],
};

/** A peer's display name and colour from its presence state (anything a peer sends is checked). */
export function identity(state, peerId) {
  const name = state && typeof state.name === 'string' && state.name.trim() ? state.name.trim().slice(0, 40) : null;
  const color = state && COLORS.includes(state.color) ? state.color : COLORS[hash(peerId) % COLORS.length];
  return { name, color };
}

const hash = (s) => [...s].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);

const el = (tag, className, text) => {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
};

function avatar(name, color) {
  const a = el('span', 'avatar', (name || '?').trim().charAt(0).toUpperCase() || '?');
  a.style.setProperty('--c', color);
  a.setAttribute('aria-hidden', 'true');
  return a;
}

/**
 * rows: [{ id, name, color, self?, typing, via?, rttMs?, synced, refused?, offline? }]
 * Rebuilds the list (a handful of rows; cheap enough to redo on every change).
 */
export function renderPeople(list, rows) {
  list.replaceChildren(...rows.map((r) => {
    const li = el('li', 'peer');
    li.dataset.peer = r.id;
    if (r.self) li.classList.add('self');
    if (r.typing) li.classList.add('is-typing');
    li.append(avatar(r.name, r.color));

    const main = el('div', 'peer-main');
    const line = el('div', 'peer-name');
    line.append(el('span', 'name', r.name || (r.refused ? 'Someone' : 'Joining…')));
    if (r.self) line.append(el('span', 'tag', 'you'));
    if (r.typing) {
      const dots = el('span', 'dots');
      dots.title = 'typing';
      dots.append(el('i'), el('i'), el('i'));
      line.append(dots);
    }
    main.append(line);

    const meta = el('div', 'peer-meta');
    if (r.self) {
      meta.append(el('span', 'muted', r.offline ? 'not connected · edits kept here' : 'this window'));
    } else if (r.refused) {
      meta.append(badge('bad', 'Different password', 'This peer uses another room password: no connection'));
    } else {
      const [label, title] = ROUTES[r.via] || ROUTES.gossip;
      const route = badge(`route ${r.via}`, label, title);
      route.dataset.route = r.via;
      meta.append(route);
      if (r.rttMs !== null && r.rttMs !== undefined) meta.append(el('span', 'muted rtt', `${Math.max(1, Math.round(r.rttMs))} ms`));
      const sync = badge(r.synced ? 'ok' : 'wait', r.synced ? 'In sync' : 'Syncing…');
      sync.dataset.sync = r.synced ? 'synced' : 'syncing';
      meta.append(sync);
    }
    main.append(meta);
    li.append(main);
    return li;
  }));
}

function badge(kind, text, title) {
  const b = el('span', `badge ${kind}`, text);
  if (title) b.title = title;
  return b;
}

/** "Ada is typing…", "Ada and Bo are typing…", "3 people are typing…", or ''. */
export function typingLine(names) {
  const n = names.map((x) => x || 'Someone');
  if (n.length === 0) return '';
  if (n.length === 1) return `${n[0]} is typing…`;
  if (n.length === 2) return `${n[0]} and ${n[1]} are typing…`;
  return `${n.length} people are typing…`;
}
