// The floor: one RTCPeerConnection pair on @roamhq/wrtc with one ordered, reliable data channel
// and nothing on top (no document, no framing). The offer, answer and ICE candidates travel
// through the orchestrator's IPC relay instead of a signaling server (an IPC hop each way, about
// 0.1 ms), so "connect" is the WebRTC handshake itself.
//   keystroke   one 24-byte message (about the size of a one-character document update)
//   sendBytes   CHUNK-byte messages; backpressure by polling bufferedAmount (wrtc has neither
//               bufferedAmountLowThreshold nor 'bufferedamountlow'): above HIGH, wait until it
//               is below LOW, checking every millisecond
import { pkgVersion } from '../traces.js';

export const name = 'raw';
export const label = 'raw data channel';
export const scenarios = ['connect', 'keystroke', 'bulk'];
export const version = () => `@roamhq/wrtc ${pkgVersion('@roamhq/wrtc')}`;
export const notes = 'RTCPeerConnection pair, one ordered reliable data channel, signaling relayed over IPC';
export async function unavailable() { return null; }
// No signaling server: rooms.js relays `signal` messages between the two peer processes.
export async function startSignaling() { return { url: null, stop: async () => {} }; }

export const CHUNK = Number(process.env.ROOMS_BENCH_CHUNK) || 16 * 1024;
const HIGH = 1024 * 1024;
const LOW = 256 * 1024;
const KEY = new Uint8Array(24).fill(97);

let wrtc = null;
export async function warmPeer() { wrtc = (await import('@roamhq/wrtc')).default; }
export async function prepare() { throw new Error('raw: no documents'); }

export async function createPeer(env, { notify }) {
  if (!wrtc) await warmPeer();
  let pc = null;
  let dc = null;
  let other = -1;
  let remoteSet = false;
  const pending = []; // candidates that arrived before the remote description
  let onRemote = null;
  let onBytes = null;

  const useChannel = (ch) => {
    dc = ch;
    dc.binaryType = 'arraybuffer';
    dc.onopen = notify;
    dc.onclose = notify;
    dc.onmessage = (e) => {
      if (onBytes) onBytes(new Uint8Array(e.data));
      else if (onRemote) onRemote();
    };
    if (dc.readyState === 'open') notify();
  };
  const newPc = () => {
    pc = new wrtc.RTCPeerConnection({ iceServers: [] });
    pc.onicecandidate = (e) => {
      if (e.candidate) env.signal(other, { candidate: { candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex } });
    };
    pc.ondatachannel = (e) => useChannel(e.channel);
  };
  const setRemote = async (desc) => {
    await pc.setRemoteDescription(desc);
    remoteSet = true;
    for (const c of pending.splice(0)) await pc.addIceCandidate(c);
  };

  env.onSignal = async (from, data) => {
    try {
      if (!pc) { other = from; newPc(); }
      if (data.sdp) {
        await setRemote(data.sdp);
        if (data.sdp.type === 'offer') {
          // explicit createAnswer: wrtc has no argument-less setLocalDescription()
          const answer = await pc.createAnswer();
          await pc.setLocalDescription(answer);
          env.signal(from, { sdp: { type: answer.type, sdp: answer.sdp } });
        }
      } else if (data.candidate) {
        if (remoteSet) await pc.addIceCandidate(data.candidate);
        else pending.push(data.candidate);
      }
    } catch (e) {
      console.error(`raw peer ${env.index}: signaling failed: ${e.message}`);
    }
  };

  return {
    // The peer that joins second (the higher index: rooms.js joins in index order) offers; the
    // first one waits for the offer.
    async join({ peers }) {
      other = peers.find((i) => i !== env.index);
      if (env.index > other) {
        newPc();
        useChannel(pc.createDataChannel('bench', { ordered: true }));
        const offer = await pc.createOffer();
        await pc.setLocalDescription(offer);
        env.signal(other, { sdp: { type: offer.type, sdp: offer.sdp } });
      }
    },
    openPeers: () => (dc && dc.readyState === 'open' ? 1 : 0),
    keystroke() { dc.send(KEY); },
    onRemote(cb) { onRemote = cb; },
    async sendBytes(u8) {
      for (let off = 0; off < u8.length; off += CHUNK) {
        if (dc.bufferedAmount > HIGH) {
          while (dc.bufferedAmount > LOW) await new Promise((r) => setTimeout(r, 1));
        }
        if (dc.readyState !== 'open') throw new Error('raw: the data channel closed during the transfer');
        dc.send(u8.subarray(off, Math.min(off + CHUNK, u8.length)));
      }
    },
    onBytes(cb) { onBytes = cb; },
    async leave() {
      env.onSignal = null;
      try { dc?.close(); } catch { /* already closed */ }
      try { pc?.close(); } catch { /* already closed */ }
    },
  };
}
