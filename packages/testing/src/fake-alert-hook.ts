import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An ALERT_WEBHOOK_URL (a Slack incoming webhook's stand-in): keeps every JSON body posted to it. */
export async function startAlertHook() {
  const received: { text: string }[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => {
      raw += d;
    });
    req.on('end', () => {
      try {
        received.push(JSON.parse(raw));
      } catch {
        received.push({ text: `(not JSON) ${raw}` });
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
