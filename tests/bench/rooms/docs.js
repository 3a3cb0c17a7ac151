// The documents the rooms benchmark syncs to a late joiner, built the same way for every
// adapter through the Yjs-shaped text API (insert/delete/transact) that Yjs and roomsync share.
//   <trace name>     an editing trace (../shared/traces, or $ROOMSYNC_TRACES), e.g.
//                    automerge-paper (259,778 edits; Yjs state 311,038 B: over the 262,144 B a
//                    wrtc data channel message may hold) or rustcode (Yjs state 247,863 B: the
//                    largest trace under it)
//   big              synthetic: 1,000 appends of 4,000 chars of deterministic words (4 MB of text,
//                    a state of several MB)
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadTrace, replayEdits, tracesDir } from '../traces.js';

const BIG_APPENDS = 1000;
const BIG_CHUNK = 4000;

// Why a spec cannot be built here (missing trace), or null.
export function unavailableSpec(name) {
  if (name !== 'big' && !existsSync(path.join(tracesDir(), `${name}.json.gz`))) {
    return `trace ${name}.json.gz not found in ${tracesDir()} (set ROOMSYNC_TRACES)`;
  }
  return null;
}

const cache = new Map();

function bigChunks() {
  // xorshift32 words: deterministic, no library, readable text.
  const words = ['room', 'sync', 'peer', 'text', 'late', 'joiner', 'state', 'vector', 'frame', 'chunk', 'delta', 'merge'];
  let x = 0x9e3779b9;
  const chunks = [];
  for (let i = 0; i < BIG_APPENDS; i++) {
    let s = '';
    while (s.length < BIG_CHUNK) {
      x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
      s += words[x % words.length] + (x & 0x100 ? '\n' : ' ');
    }
    chunks.push(s.slice(0, BIG_CHUNK));
  }
  return chunks;
}

function load(name) {
  if (!cache.has(name)) {
    if (name === 'big') {
      const chunks = bigChunks();
      cache.set(name, { chunks, text: chunks.join('') });
    } else {
      const trace = loadTrace(name);
      cache.set(name, { trace, text: trace.endContent });
    }
  }
  return cache.get(name);
}

// The text every peer must end up with.
export function expectedText(name) {
  return load(name).text;
}

// Builds the document into `text` of `doc` (Yjs-shaped API), one transaction per trace txn or
// per append.
export function buildInto(name, doc, text) {
  const d = load(name);
  if (d.trace) replayEdits(doc, text, d.trace);
  else for (const c of d.chunks) text.insert(text.length, c);
}
