import { pino } from 'pino';
import type { BaseEnv } from './env.ts';

export type Logger = pino.Logger;

/** JSON lines for machines; `LOG_FORMAT=pretty` (what `npm start` sets) for a person at a terminal. */
export function createLogger(env: Pick<BaseEnv, 'LOG_LEVEL' | 'LOG_FORMAT'>, name: string): Logger {
  const options = { name, level: env.LOG_LEVEL, base: { app: name } };
  if (env.LOG_FORMAT !== 'pretty') return pino(options);
  return pino(
    options,
    pino.transport({
      target: 'pino-pretty',
      options: { ignore: 'pid,hostname,app', translateTime: 'HH:MM:ss.l', singleLine: true },
    }),
  );
}
