// Static files: each mount maps a URL prefix to a directory, optionally limited to a list of
// files. No directory listings, no path traversal, no dotfiles; `index.html` for directories.

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';

export const MIME_TYPES = Object.freeze({
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ts': 'text/plain; charset=utf-8',
});

/**
 * `files` patterns (paths relative to the mount's directory; `*` matches within one path
 * segment) as one RegExp, or null for "every file".
 */
function filesPattern(files) {
  if (!files) return null;
  const one = (f) => f.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*');
  return new RegExp(`^(?:${files.map(one).join('|')})$`);
}

/**
 * @param {{prefix: string, dir: string, files?: string[]}[]} mounts longest prefix wins; a mount
 *   with `files` serves only those files (never a directory's index.html)
 */
export function createStaticHandler(mounts) {
  const list = mounts
    .map((m) => ({ prefix: m.prefix.endsWith('/') ? m.prefix : m.prefix + '/', dir: path.resolve(m.dir), only: filesPattern(m.files) }))
    .sort((a, b) => b.prefix.length - a.prefix.length);

  /** Resolves true when it answered the request, false when no mount matched a file. */
  return async function serveStatic(req, res, pathname) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    let decoded;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      return false;
    }
    if (decoded.includes('\0') || decoded.includes('\\')) return false;
    for (const { prefix, dir, only } of list) {
      if (!(decoded + '/').startsWith(prefix)) continue;
      const rel = decoded.slice(prefix.length);
      if (rel.split('/').some((seg) => seg.startsWith('.'))) continue; // dotfiles and '..'
      if (only && !only.test(rel)) continue;
      let file = path.resolve(dir, rel);
      if (file !== dir && !file.startsWith(dir + path.sep)) continue;
      let st;
      try {
        st = await stat(file);
        if (st.isDirectory()) {
          if (only) continue;
          if (!decoded.endsWith('/')) {
            res.writeHead(301, { Location: pathname + '/' });
            res.end();
            return true;
          }
          file = path.join(file, 'index.html');
          st = await stat(file);
        }
      } catch {
        continue;
      }
      if (!st.isFile()) continue;
      const type = MIME_TYPES[path.extname(file).toLowerCase()] || 'application/octet-stream';
      res.writeHead(200, {
        'Content-Type': type,
        'Content-Length': st.size,
        'Cache-Control': 'no-cache',
        'X-Content-Type-Options': 'nosniff',
      });
      if (req.method === 'HEAD') {
        res.end();
        return true;
      }
      const stream = createReadStream(file);
      stream.on('error', () => res.destroy());
      stream.pipe(res);
      return true;
    }
    return false;
  };
}
