/**
 * Baseline: a bare node:http server that reads the body, parses the JSON and answers 200 — what
 * any webhook receiver must do at least. `node bench/baselines/bare-http.mjs <port>`
 */
import { createServer } from 'node:http';

const server = createServer((req, res) => {
  /** @type {Buffer[]} */
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ received: true, id: body.event_id }));
  });
});
server.listen(Number(process.argv[2]), '127.0.0.1', () => process.send?.('ready'));
