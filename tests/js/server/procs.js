// Child-process helpers: roomsync servers (js/cli.js) and redis-server, on loopback only.
import { spawn, execFileSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';

const CLI = path.resolve(import.meta.dirname, '../../../js/cli.js');

/** A free TCP port on 127.0.0.1 (bind to 0, read it, release it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Spawns `roomsync serve` and resolves once it logs "listening": {proc, url, port, kill(signal), exited}. */
export function spawnServer({ port = 0, env = {} } = {}) {
  const proc = spawn(process.execPath, [CLI, 'serve', '--port', String(port)], {
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const lines = readline.createInterface({ input: proc.stderr });
  const log = [];
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`server did not start:\n${log.join('\n')}`)), 10_000);
    exited.then(({ code }) => reject(new Error(`server exited (${code}) before listening:\n${log.join('\n')}`)));
    lines.on('line', (line) => {
      log.push(line);
      if (process.env.TEST_LOG_LEVEL) process.stderr.write(`[server ${proc.pid}] ${line}\n`);
      let rec;
      try {
        rec = JSON.parse(line);
      } catch {
        return;
      }
      if (rec.msg === 'listening') {
        clearTimeout(t);
        const port = Number(new URL(rec.url).port);
        resolve({ proc, url: rec.url, httpUrl: rec.http, port, node: rec.node, log, exited, kill: (sig = 'SIGTERM') => (proc.kill(sig), exited) });
      }
    });
  });
}

export function hasRedis() {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Starts a throwaway redis-server on a free loopback port, no persistence. */
export async function spawnRedis() {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('redis-server did not start')), 10_000);
    proc.stdout.on('data', (d) => {
      if (/Ready to accept connections/.test(d)) {
        clearTimeout(t);
        resolve();
      }
    });
    exited.then(() => reject(new Error('redis-server exited')));
  });
  return { url: `redis://127.0.0.1:${port}`, port, stop: () => (proc.kill('SIGKILL'), exited) };
}
