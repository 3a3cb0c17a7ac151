// Chat: the room's messages live in its document, in a List, so a late joiner (or a reload) gets
// the whole history in the same order everywhere, each message once. Reactions live in a Map
// (one key per message, emoji and user: only that user ever writes it, so nothing conflicts).
// "Typing…" and online/away come from presence. Everything a peer wrote is shown as text, never
// HTML; http(s) links become <a> elements, nothing else does.
import { createDoc } from '/dist/roomsync.browser.js';
import { el, initials, startShell } from './shell.js';

const $ = (id) => document.getElementById(id);
const MAX_LENGTH = 4000;
const REACTIONS = ['👍', '❤️', '😂', '🎉', '😮'];
const REACTION_GAP_MS = 1000; // one reaction per second per user
const GROUP_MS = 5 * 60_000; // follow-ups within 5 minutes share the author line
const NEAR_BOTTOM_PX = 80;

const shell = await startShell({ product: 'Chat' });
const doc = await createDoc();
const messages = doc.getList('messages');
const reactions = doc.getMap('reactions');
const list = $('messages');
const input = $('input');

// ---------------------------------------------------------------- reading the document

/** A message as peers may have written it: anything malformed is left out, never shown raw. */
function valid(m) {
  return m && typeof m === 'object' && typeof m.id === 'string' && m.id.length <= 64 &&
    typeof m.content === 'string' && m.content.length <= MAX_LENGTH && typeof m.user_id === 'string' &&
    Number.isFinite(m.timestamp);
}

/** Reactions by message id: Map(id -> Map(emoji -> Set(user ids))). */
function reactionIndex() {
  const byMessage = new Map();
  for (const [key, on] of reactions.entries()) {
    const [id, emoji, user] = key.split(' ');
    if (!on || !REACTIONS.includes(emoji) || !user) continue;
    if (!byMessage.has(id)) byMessage.set(id, new Map());
    const users = byMessage.get(id);
    if (!users.has(emoji)) users.set(emoji, new Set());
    users.get(emoji).add(user);
  }
  return byMessage;
}

// ---------------------------------------------------------------- rendering

const dayKey = (t) => new Date(t).toDateString();
function dayLabel(t) {
  const d = new Date(t);
  const today = new Date();
  const yesterday = new Date(Date.now() - 86_400_000);
  if (d.toDateString() === today.toDateString()) return 'Today';
  if (d.toDateString() === yesterday.toDateString()) return 'Yesterday';
  return d.toLocaleDateString([], { weekday: 'long', month: 'long', day: 'numeric', year: d.getFullYear() === today.getFullYear() ? undefined : 'numeric' });
}
const timeLabel = (t) => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

/** Text with http(s) links as <a>; every other character stays text (no HTML, no other schemes). */
function richText(content) {
  const out = document.createDocumentFragment();
  let at = 0;
  for (const m of content.matchAll(/\bhttps?:\/\/[^\s<>"']+/gi)) {
    const url = m[0].replace(/[.,;:!?)\]}'"]+$/, ''); // trailing punctuation belongs to the sentence
    let href;
    try {
      href = new URL(url);
    } catch {
      continue;
    }
    if (href.protocol !== 'http:' && href.protocol !== 'https:') continue;
    out.append(content.slice(at, m.index));
    const a = el('a', '', url);
    a.href = href.href;
    a.rel = 'noopener noreferrer';
    a.target = '_blank';
    out.append(a);
    at = m.index + url.length;
  }
  out.append(content.slice(at));
  return out;
}

function authorOf(m) {
  const name = typeof m.name === 'string' && m.name.trim() ? m.name.trim().slice(0, 40) : 'Someone';
  return { name, color: typeof m.color === 'string' && /^#[0-9a-f]{6}$/i.test(m.color) ? m.color : '#697080' };
}

function messageNode(m, grouped, reacts) {
  const mine = m.user_id === shell.userId;
  const row = el('article', `msg${grouped ? ' grouped' : ''}${mine ? ' mine' : ''}`);
  row.dataset.id = m.id;
  const { name, color } = authorOf(m);
  const avatar = el('span', 'avatar', grouped ? '' : initials(name));
  avatar.style.setProperty('--c', color);
  avatar.setAttribute('aria-hidden', 'true');
  const body = el('div', 'msg-body');
  if (!grouped) {
    const head = el('div', 'msg-head');
    head.append(el('span', 'msg-author', name));
    if (mine) head.append(el('span', 'tag', 'you'));
    const time = el('time', 'msg-time', timeLabel(m.timestamp));
    time.dateTime = new Date(m.timestamp).toISOString();
    head.append(time);
    body.append(head);
  } else {
    const time = el('time', 'msg-time side', timeLabel(m.timestamp));
    time.dateTime = new Date(m.timestamp).toISOString();
    row.append(time);
  }
  const text = el('div', 'msg-text');
  text.append(richText(m.content));
  body.append(text);

  const chips = el('div', 'reactions');
  for (const emoji of REACTIONS) { // always in the bar's order, whoever reacted first
    const users = reacts?.get(emoji);
    if (!users) continue;
    const chip = el('button', `chip${users.has(shell.userId) ? ' on' : ''}`);
    chip.type = 'button';
    chip.dataset.emoji = emoji;
    chip.setAttribute('aria-pressed', String(users.has(shell.userId)));
    chip.append(el('span', '', emoji), el('span', 'n', String(users.size)));
    chips.append(chip);
  }
  if (chips.childElementCount) body.append(chips);

  const bar = el('div', 'react-bar');
  bar.setAttribute('role', 'group');
  bar.setAttribute('aria-label', 'React');
  for (const emoji of REACTIONS) {
    const b = el('button', 'react', emoji);
    b.type = 'button';
    b.dataset.emoji = emoji;
    b.title = `React ${emoji}`;
    bar.append(b);
  }
  row.append(avatar, body, bar);
  return row;
}

let shown = 0; // messages on screen, to tell new ones apart
const nodeCache = new Map(); // message id -> { key, node }
function render() {
  const wasNearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_BOTTOM_PX;
  const reacts = reactionIndex();
  const nodes = [];
  const seen = new Set();
  let prev = null;
  for (const m of messages) {
    if (!valid(m) || seen.has(m.id)) continue; // the List never duplicates; a buggy peer might
    seen.add(m.id);
    if (!prev || dayKey(prev.timestamp) !== dayKey(m.timestamp)) {
      const sep = el('div', 'day', dayLabel(m.timestamp));
      sep.setAttribute('role', 'separator');
      nodes.push(sep);
      prev = null;
    }
    const grouped = prev && prev.user_id === m.user_id && m.timestamp - prev.timestamp < GROUP_MS && m.timestamp >= prev.timestamp;
    // Reuse the node while nothing it shows changed (long histories re-render in one pass).
    const r = reacts.get(m.id);
    const key = `${grouped ? 1 : 0}${dayKey(m.timestamp)}${r ? JSON.stringify([...r].map(([e, u]) => [e, u.size, u.has(shell.userId)])) : ''}`;
    let cached = nodeCache.get(m.id);
    if (!cached || cached.key !== key) nodeCache.set(m.id, (cached = { key, node: messageNode(m, grouped, r) }));
    nodes.push(cached.node);
    prev = m;
  }
  for (const id of nodeCache.keys()) if (!seen.has(id)) nodeCache.delete(id);
  $('empty').hidden = seen.size > 0;
  list.replaceChildren($('empty'), ...nodes);
  const added = seen.size > shown;
  shown = seen.size;
  if (wasNearBottom || forceScroll) scrollToEnd();
  else if (added) $('jump').hidden = false;
  forceScroll = false;
}

let forceScroll = true;
function scrollToEnd() {
  list.scrollTop = list.scrollHeight;
  $('jump').hidden = true;
}
list.addEventListener('scroll', () => {
  if (list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_BOTTOM_PX) $('jump').hidden = true;
});
$('jump').addEventListener('click', scrollToEnd);

function renderPeople() {
  const room = shell.room;
  const typing = room ? room.presence.typingPeers().map((id) => shell.nameOf(id)) : [];
  $('typing').textContent = typing.length === 0 ? '' : typing.length === 1 ? `${typing[0]} is typing…`
    : typing.length === 2 ? `${typing[0]} and ${typing[1]} are typing…` : `${typing.length} people are typing…`;
  $('alone').hidden = !room || room.getPeers().length > 0;
}

// Coalesce bursts of remote changes into one render (a timer, not requestAnimationFrame: that
// one stops in a hidden tab, and away users should still get their messages rendered).
let queued = false;
const schedule = () => {
  if (queued) return;
  queued = true;
  setTimeout(() => { queued = false; render(); }, 16);
};
messages.observe(schedule);
reactions.observe(schedule);

// ---------------------------------------------------------------- sending

const newId = () => `${shell.userId}-${Date.now().toString(36)}-${[...crypto.getRandomValues(new Uint8Array(4))].map((b) => b.toString(16).padStart(2, '0')).join('')}`;

function send() {
  const content = input.value.replace(/^\s*\n|\s+$/g, '');
  if (!content.trim()) return;
  messages.push({
    id: newId(),
    content: content.slice(0, MAX_LENGTH),
    user_id: shell.userId,
    room_id: shell.roomName,
    timestamp: Date.now(),
    name: shell.name,
    color: shell.color,
  });
  input.value = '';
  autosize();
  shell.room?.presence.setTyping(false);
  forceScroll = true;
  render(); // at once: our own message should not wait a frame
}

input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    send();
  }
});
input.addEventListener('input', () => {
  autosize();
  if (input.value.trim()) shell.room?.presence.typing();
  else shell.room?.presence.setTyping(false);
});
$('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  send();
  input.focus();
});
function autosize() {
  input.style.height = 'auto';
  input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
}

// Reactions: a click on the bar or on a chip toggles this user's reaction, at most once a second.
let lastReaction = -Infinity;
let noticeTimer;
list.addEventListener('click', (e) => {
  const button = e.target.closest('.react, .chip');
  if (!button) return;
  const id = button.closest('.msg').dataset.id;
  const now = performance.now();
  if (now - lastReaction < REACTION_GAP_MS) {
    showNotice('One reaction per second: wait a moment and try again.');
    return;
  }
  lastReaction = now;
  const key = `${id} ${button.dataset.emoji} ${shell.userId}`;
  if (reactions.has(key)) reactions.delete(key);
  else reactions.set(key, true);
});

function showNotice(text) {
  const notice = $('notice');
  notice.textContent = text;
  notice.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { notice.hidden = true; }, 2500);
}

shell.onChange(renderPeople);
render();
renderPeople();
await shell.join({ doc });
input.focus();
