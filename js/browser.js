// Entry point of the browser bundle, dist/roomsync.browser.js (scripts/build.sh wasm bundles it
// with esbuild: minified ES module, the phoenix client inside). A page with no bundler imports
// that one file; it fetches roomsync.wasm from its own directory. Every export is browser-safe.
// (tests/e2e/static-page.test.js checks that these are all the public exports of index.js.)
export {
  createDoc, Doc, Text, List, Map, RMap, Register, Counter, ListenerError, OutOfMemoryError, loadModule,
  setMemoryLimit, memoryUsage, joinRoom, RoomError, createUndoManager, UndoManager,
} from './index.js';
export { connectSignaling, Signaling, SignalingError } from './signaling.js';
