// Structured logging: one JSON object per line.
// Level from the `level` argument, else LOG_LEVEL, else "info". "silent" disables output.
// An unknown level is an error, not a silent fallback: a typo must not hide debug logs.

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export const LOG_LEVELS = Object.freeze(Object.keys(LEVELS));

/** Returns `level` if it is a known level name; throws a RangeError naming `what` and the allowed values. */
export function checkLogLevel(level, what = 'log level') {
  if (typeof level !== 'string' || !Object.hasOwn(LEVELS, level)) {
    throw new RangeError(`${what} must be one of ${LOG_LEVELS.join(', ')}; got ${JSON.stringify(level)}`);
  }
  return level;
}

export function createLogger({ level, stream = process.stderr, base = {} } = {}) {
  if (level === undefined) level = checkLogLevel(process.env.LOG_LEVEL || 'info', 'LOG_LEVEL');
  const threshold = LEVELS[checkLogLevel(level)];
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
