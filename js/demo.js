// A small terminal demo of the engine (`node js/demo.js`): two replicas edit the same text
// concurrently, exchange updates, and converge.
import { createDoc } from './index.js';

const alice = await createDoc({ clientId: 1 });
const bob = await createDoc({ clientId: 2 });

// Start from a shared state: Alice writes, Bob loads her document.
alice.getText('body').insert(0, 'Hello world');
bob.applyUpdate(alice.encodeState());

// Concurrent edits, made while the two are not connected.
alice.getText('body').insert(5, ', dear');
bob.getText('body').insert(11, '!');
bob.getText('body').delete(0, 1);
bob.getText('body').insert(0, 'h');
alice.getMap('meta').set('title', 'Greeting');
bob.getCounter('views').increment(3);
console.log('alice before sync:', JSON.stringify(alice.getText('body').toString()));
console.log('bob   before sync:', JSON.stringify(bob.getText('body').toString()));

// Delta sync: each sends what the other lacks, computed from the other's state vector.
const toBob = alice.encodeStateSince(bob.stateVector());
const toAlice = bob.encodeStateSince(alice.stateVector());
bob.applyUpdate(toBob);
alice.applyUpdate(toAlice);

const a = alice.getText('body').toString();
const b = bob.getText('body').toString();
console.log('alice after sync: ', JSON.stringify(a));
console.log('bob   after sync: ', JSON.stringify(b));
console.log('meta:', JSON.stringify(bob.getMap('meta').toJSON()), 'views:', alice.getCounter('views').value);
console.log(a === b ? 'converged ✔' : 'DIVERGED ✘');
alice.destroy();
bob.destroy();
if (a !== b) process.exitCode = 1;
