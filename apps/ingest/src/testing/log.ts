import { createLogger, type Logger } from '@oncehook/shared';

export type LogLine = Record<string, unknown> & { msg: string; level: number };

/** A logger whose lines a test reads back, parsed; `matching` picks them by message. */
export function capturedLog(): { log: Logger; lines: LogLine[]; matching(msg: RegExp): LogLine[] } {
  const lines: LogLine[] = [];
  const log = createLogger({ LOG_LEVEL: 'debug', LOG_FORMAT: 'json' }, 'ingest-test', {
    write: (line: string) => lines.push(JSON.parse(line)),
  });
  return { log, lines, matching: (msg) => lines.filter((l) => msg.test(l.msg)) };
}
