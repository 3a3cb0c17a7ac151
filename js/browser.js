// Entry point of the browser bundle, dist/roomsync.browser.js (scripts/build.sh wasm bundles it
// with esbuild: minified ES module, the phoenix client inside). A page with no bundler imports
// that one file; it fetches roomsync.wasm from its own directory. Every export is browser-safe.
export { createDoc, Doc, Text, Map, RMap, Register, Counter, ListenerError, loadModule, joinRoom, RoomError } from './index.js';
export { connectSignaling, Signaling, SignalingError } from './signaling.js';
export { createUndoManager, UndoManager } from './index.js';
