// Loading a saved state into a document whose text an editor observes, against the same load
// unobserved: what a late joiner in a room with an editor pays (the event it gets is the whole
// text). Each trace is replayed, saved with encodeState(), then loaded with applyUpdate() into
// fresh documents, observed and unobserved alternately; prints medians (ms) and their ratio.
//   node tests/bench/observed-load.js [--trace NAME]... [--runs N]
import * as roomsync from '../../js/index.js';
import { loadTrace, replayEdits } from './traces.js';

const arg = (k) => process.argv.flatMap((a, i, all) => (all[i - 1] === k ? [a] : []));
const names = arg('--trace').length ? arg('--trace') : ['rustcode', 'automerge-paper'];
const runs = Number(arg('--runs')[0] ?? 7);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

for (const name of names) {
  const trace = loadTrace(name);
  const src = await roomsync.createDoc();
  replayEdits(src, src.getText('text'), trace);
  const state = src.encodeState();
  src.destroy();
  const ms = { observed: [], unobserved: [] };
  for (let i = 0; i <= runs; i++) {
    for (const observed of [true, false]) {
      const doc = await roomsync.createDoc();
      let events = 0;
      if (observed) doc.getText('text').observe(() => events++);
      const t0 = performance.now();
      doc.applyUpdate(state);
      const t = performance.now() - t0;
      if (observed && events !== 1) throw new Error(`${name}: ${events} events`);
      if (i > 0) ms[observed ? 'observed' : 'unobserved'].push(t); // run 0 warms up
      doc.destroy();
    }
  }
  const o = median(ms.observed), u = median(ms.unobserved);
  console.log(`${name}: state ${state.length.toLocaleString('en-US')} B; load observed ${o.toFixed(1)} ms, ` +
    `unobserved ${u.toFixed(1)} ms (${(o / u).toFixed(2)}×); medians of ${runs}`);
}
