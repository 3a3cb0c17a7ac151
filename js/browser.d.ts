// Type declarations for roomsync/browser (dist/roomsync.browser.js, entry js/browser.js): the
// document API, rooms and the signaling client in one self-contained ES module.
export * from './index.js';
export * from './signaling.js';
