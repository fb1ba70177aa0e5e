import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

/** The lines a logger wrote, parsed. */
function captured() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ LOG_LEVEL: 'info', LOG_FORMAT: 'json' }, 'test', {
    write: (line: string) => lines.push(JSON.parse(line)),
  });
  return { log, lines };
}

describe('the shared logger', () => {
  it('never writes a customer’s e-mail address or phone number, at the top or one level down', () => {
    const { log, lines } = captured();
    log.info({ to: 'ada@example.com', subject: 'Your receipt', emailId: 'em_1' }, 'email sent');
    log.info({ email: { to: 'ada@example.com', subject: 'x' }, customer_email: 'bob@example.com' }, 'x');
    log.info(
      { receipt_email: 'c@example.com', customer: { email: 'd@example.com', phone: '+15550001' } },
      'y',
    );
    log.info({ params: { From: '+15017122661', To: '+15558675310', MessageSid: 'SM1' } }, 'z');
    const text = JSON.stringify(lines);
    expect(text).not.toMatch(/@example\.com|\+1501|\+1555/);
    expect(lines[0]).toMatchObject({ to: '[redacted]', subject: 'Your receipt', emailId: 'em_1' });
    expect(lines[3]).toMatchObject({ params: { From: '[redacted]', MessageSid: 'SM1' } });
  });
});
