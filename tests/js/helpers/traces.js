// Finding and reading the editing traces (josephg/editing-traces, CC BY 4.0; see
// ../shared/traces/README.md). They are read in place, never copied into this repository.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

export const repoRoot = resolve(fileURLToPath(new URL('../../../', import.meta.url)));

/** The traces folder: $ROOMSYNC_TRACES, else ../shared/traces beside the repository. */
export function tracesDir() {
  return process.env.ROOMSYNC_TRACES
    ? resolve(process.env.ROOMSYNC_TRACES)
    : resolve(repoRoot, '..', 'shared', 'traces');
}

/** Names (without .json.gz) of the traces in `dir`, sorted; [] when the folder is absent. */
export function listTraces(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json.gz'))
    .map((f) => f.slice(0, -'.json.gz'.length))
    .sort();
}

export function loadTrace(dir, name) {
  return JSON.parse(gunzipSync(readFileSync(join(dir, `${name}.json.gz`))).toString('utf8'));
}
