import { pino } from 'pino';
import type { BaseEnv } from './env.ts';

export type Logger = pino.Logger;

/**
 * Personal data that log lines must not carry: a customer's e-mail address or phone number, at the
 * top of a line or one level down (`{ email: { to } }`). Log lines go to systems with other
 * readers and other retention than the records: the id of the payment or e-mail is enough there.
 */
const PERSONAL = ['to', 'email', 'customer_email', 'customerEmail', 'receipt_email', 'phone', 'From', 'To'];
export const REDACTED_PATHS = [...PERSONAL, ...PERSONAL.map((field) => `*.${field}`)];

/**
 * JSON lines for machines; `LOG_FORMAT=pretty` (what `npm start` sets) for a person at a terminal.
 * `destination`: where the lines go instead of stdout (tests read them).
 */
export function createLogger(
  env: Pick<BaseEnv, 'LOG_LEVEL' | 'LOG_FORMAT'>,
  name: string,
  destination?: pino.DestinationStream,
): Logger {
  const options = {
    name,
    level: env.LOG_LEVEL,
    base: { app: name },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  if (destination) return pino(options, destination);
  if (env.LOG_FORMAT !== 'pretty') return pino(options);
  return pino(
    options,
    pino.transport({
      target: 'pino-pretty',
      options: { ignore: 'pid,hostname,app', translateTime: 'HH:MM:ss.l', singleLine: true },
    }),
  );
}
