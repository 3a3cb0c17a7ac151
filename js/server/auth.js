// Connect-time authentication: HS256 JWT from the `token` query param or the
// `base64url.bearer.phx.<base64(token)>` WebSocket subprotocol (phoenix.js `authToken`).

import { jwtVerify } from 'jose';

const BEARER_PREFIX = 'base64url.bearer.phx.';

/** Extracts the token from the request: query param first, then the subprotocol. */
export function extractToken(url, protocolHeader) {
  const q = url.searchParams.get('token');
  if (q) return q;
  if (!protocolHeader) return null;
  for (const p of String(protocolHeader).split(',')) {
    const proto = p.trim();
    if (proto.startsWith(BEARER_PREFIX)) {
      const b64 = proto.slice(BEARER_PREFIX.length);
      try {
        // phoenix.js uses btoa() (standard alphabet) with '=' stripped; accept url-safe too.
        return Buffer.from(b64.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
      } catch {
        return null;
      }
    }
  }
  return null;
}

export function createAuthenticator(secret) {
  if (!secret) return null;
  const key = new TextEncoder().encode(secret);
  /** Resolves {userId, claims} or throws an Error with `.reason`. */
  return async function authenticate(token) {
    if (!token) throw Object.assign(new Error('missing token'), { reason: 'missing_token' });
    let payload;
    try {
      ({ payload } = await jwtVerify(token, key, { algorithms: ['HS256'] }));
    } catch (err) {
      const reason = err && err.code === 'ERR_JWT_EXPIRED' ? 'token_expired' : 'invalid_token';
      throw Object.assign(new Error(reason), { reason });
    }
    const uid = payload.user_id;
    if ((typeof uid !== 'string' && typeof uid !== 'number') || String(uid).length === 0 || String(uid).length > 128) {
      throw Object.assign(new Error('token has no user_id claim'), { reason: 'invalid_token' });
    }
    return { userId: String(uid), claims: payload };
  };
}
