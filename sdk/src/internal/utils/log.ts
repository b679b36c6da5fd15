import { redact } from './redact';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'off';

/** Where the client logs. `console` fits; so do pino, winston and most other loggers. */
export interface Logger {
  debug(message: string, ...rest: unknown[]): void;
  info(message: string, ...rest: unknown[]): void;
  warn(message: string, ...rest: unknown[]): void;
  error(message: string, ...rest: unknown[]): void;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, off: 4 };

/** Whether a message of severity `method` is logged at `level`. */
export function isLogged(method: Exclude<LogLevel, 'off'>, level: LogLevel): boolean {
  return RANK[method] >= RANK[level];
}

/** A logger that drops messages below `level` and redacts secrets from what it passes on. */
export function levelLogger(logger: Logger, level: LogLevel): Logger {
  const at = (method: Exclude<LogLevel, 'off'>) =>
    !isLogged(method, level)
      ? () => {}
      : (message: string, ...rest: unknown[]) =>
          logger[method](`[meridian] ${message}`, ...rest.map((item) => redact(item)));
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
