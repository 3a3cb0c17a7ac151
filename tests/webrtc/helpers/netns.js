// Guard for every WebRTC test: refuse to run outside a private network namespace (see
// scripts/netns.sh), so that ICE traffic never reaches a real network interface.
import { readFileSync, readlinkSync } from 'node:fs';
import { networkInterfaces } from 'node:os';

const netnsOf = (pid) => {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return null; // gone, or not ours to read (pid 1 is often unreadable in containers)
  }
};

const parentOf = (pid) => {
  try {
    // Field 4 of /proc/<pid>/stat; the command name (field 2) may contain spaces, so skip past ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
};

/**
 * True when this process's network namespace differs from init's (pid 1), or, where pid 1 cannot be
 * inspected, from that of an ancestor process (the shell that ran scripts/netns.sh).
 */
export function inPrivateNetns() {
  const own = netnsOf('self');
  if (!own) return false; // not Linux, or no /proc: cannot prove isolation
  const init = netnsOf(1);
  if (init) return init !== own;
  for (let pid = parentOf(process.pid); pid > 1; pid = parentOf(pid)) {
    const ns = netnsOf(pid);
    if (ns && ns !== own) return true;
  }
  return false;
}

/** Addresses that could carry traffic off this machine: anything but loopback, link-local and 10.77.0.0/24. */
export function externalAddresses() {
  const out = [];
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    for (const a of addrs || []) {
      if (a.internal) continue;
      if (a.family === 'IPv4' && a.address.startsWith('10.77.0.')) continue;
      if (a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80:')) continue;
      out.push(`${name} ${a.address}`);
    }
  }
  return out;
}

/** Throws (with the command to use) unless the process runs in a private, isolated network namespace. */
export function assertPrivateNetns() {
  const hint = 'WebRTC tests must run inside a private network namespace: scripts/netns.sh node --test tests/webrtc/';
  if (!inPrivateNetns()) throw new Error(`${hint} (this process shares its network namespace with the host)`);
  const external = externalAddresses();
  if (external.length) throw new Error(`${hint} (this namespace has routable addresses: ${external.join(', ')})`);
}
