// Structured logging: one JSON object per line.
// Level from the `level` argument, else LOG_LEVEL, else "info". "silent" disables output.

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export function createLogger({ level = process.env.LOG_LEVEL || 'info', stream = process.stderr, base = {} } = {}) {
  const threshold = LEVELS[level] ?? LEVELS.info;
  const write = (lvl, msg, fields) => {
    if (LEVELS[lvl] < threshold) return;
    const line = { ts: new Date().toISOString(), level: lvl, msg, ...base, ...fields };
    try {
      stream.write(JSON.stringify(line) + '\n');
    } catch {
      // a logger must never throw into the caller
    }
  };
  return {
    level,
    debug: (msg, fields) => write('debug', msg, fields),
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
    child: (extra) => createLogger({ level, stream, base: { ...base, ...extra } }),
  };
}

/** Accepts a logger-like object, a level name, or nothing; returns a complete logger. */
export function toLogger(logger) {
  if (!logger) return createLogger();
  if (typeof logger === 'string') return createLogger({ level: logger });
  const noop = () => {};
  const wrapped = {
    debug: (logger.debug || noop).bind(logger),
    info: (logger.info || noop).bind(logger),
    warn: (logger.warn || noop).bind(logger),
    error: (logger.error || noop).bind(logger),
  };
  wrapped.child = logger.child ? (x) => toLogger(logger.child(x)) : () => wrapped;
  return wrapped;
}
