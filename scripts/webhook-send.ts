import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { orExit, parseIngestEnv } from '../apps/ingest/src/env.ts';
import { isProviderName, PROVIDER_LIST, PROVIDERS } from '../apps/ingest/src/providers/registry.ts';
import { exampleOf, signerOf } from '../apps/ingest/src/testing/deliveries.ts';

/**
 * npm run webhook:send -- --source stripe --times 10 [fixtures/stripe-checkout-session-completed.json]
 *
 * Signs a fixture (by default the provider's own) as the given provider with the configured secret and delivers it N times,
 * printing each answer: the "send it ten times" test every receiver should run. Each send is
 * signed afresh (new timestamp), as a provider's retry is. The event id is new on each run (or
 * --id), and the body is made that event's (the id put where the provider carries it, else the
 * body marked with it), so that two runs are two events, never one's copy.
 */
const USAGE = `usage: npm run webhook:send -- --source <${PROVIDER_LIST.map((p) => p.name).join('|')}> [options] [fixture]
  --times <n>     deliveries to send (default 1)
  --parallel      send them all at once instead of one after another
  --url <base>    the ingest (default http://127.0.0.1:$PORT)
  --id <id>       the event id (default: a new one on each run, printed); the same id sends the
                  same event again, another id another event
  --new-id        after the first send, a fresh header id on each, the body unchanged: a captured
                  delivery re-sent under new ids, which GitHub, Shopify and Twilio answer as copies
  --event <name>  X-GitHub-Event / X-Shopify-Topic (default push / orders/create)
  fixture         the body to send (default: the source's own, in fixtures/)`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    source: { type: 'string' },
    times: { type: 'string', default: '1' },
    parallel: { type: 'boolean', default: false },
    url: { type: 'string' },
    id: { type: 'string' },
    'new-id': { type: 'boolean', default: false },
    event: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

const stop = (message: string): never => {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(values.help ? 0 : 2);
};
if (values.help) stop('Sends a signed fixture to the ingest, several times.');
const source = values.source ?? stop('--source is required');
if (!isProviderName(source)) stop(`unknown source "${source}"`);
const provider = PROVIDERS[source as keyof typeof PROVIDERS];
const times = Number(values.times);
if (!Number.isInteger(times) || times < 1 || times > 100_000) stop('--times must be a whole number from 1');
const fixture = positionals[0] ?? join(import.meta.dirname, '../fixtures', exampleOf(provider.name).fixture);

const config = orExit(() => parseIngestEnv());
const variable = provider.secretEnv[0] as string;
const secret = config.secrets.get(variable)?.[0];
// The demo source is unsigned until DEMO_WEBHOOK_SECRET is set; every other source needs its secret.
if (!secret && source !== 'demo')
  stop(`${variable} is not set: give it the ingest's value (the ingest serves "${source}" only with it)`);

const fixedId = values.id ?? `evt_${randomBytes(6).toString('hex')}`;
const body = exampleOf(provider.name).withId(readFileSync(fixture, 'utf8'), fixedId);
const base = (values.url ?? `http://127.0.0.1:${config.PORT}`).replace(/\/+$/, '');
const url = `${base}/webhooks/${source}`;
// What a URL-signing provider signed: the address it was configured with.
const signedUrl = `${(config.PUBLIC_URL ?? base).replace(/\/+$/, '')}/webhooks/${source}`;

async function send(n: number) {
  // --new-id: the first send is the event, every later one a copy of it under a fresh id.
  const id = values['new-id'] && n > 1 ? `evt_${randomBytes(6).toString('hex')}` : fixedId;
  const delivery = { body, secret: secret ?? '', id, nowMs: Date.now(), url: signedUrl };
  const headers = secret
    ? await signerOf(provider.name)({ ...delivery, ...(values.event ? { event: values.event } : {}) })
    : {};
  const started = performance.now();
  try {
    const res = await fetch(url, {
      method: 'POST',
      body,
      headers: { 'content-type': exampleOf(provider.name).contentType ?? 'application/json', ...headers },
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    const ms = (performance.now() - started).toFixed(0);
    console.log(`#${n}\t${res.status}\t${text}\t${ms} ms`);
    // Slack's commands and Twilio get the answer their sender expects, which does not say.
    const duplicate = /"duplicate":(true|false)/.exec(text)?.[1];
    return { status: res.status, duplicate: duplicate === undefined ? undefined : duplicate === 'true' };
  } catch (err) {
    console.log(`#${n}\tERR\t${(err as Error).message}`);
    return { status: 0, duplicate: undefined };
  }
}

console.log(`POST ${url} x${times}: event ${fixedId} (${fixture})`);
const numbers = Array.from({ length: times }, (_, i) => i + 1);
const results: Awaited<ReturnType<typeof send>>[] = [];
if (values.parallel) results.push(...(await Promise.all(numbers.map(send))));
else for (const n of numbers) results.push(await send(n));
const ok = results.filter((r) => r.status === 200);
const failed = results.length - ok.length;
const unsaid = ok.filter((r) => r.duplicate === undefined).length;
console.log(
  [
    `${results.length} sent: ${ok.filter((r) => r.duplicate === false).length} new`,
    `${ok.filter((r) => r.duplicate).length} duplicate`,
    ...(unsaid ? [`${unsaid} accepted (the provider's answer format does not say which)`] : []),
    `${failed} not accepted`,
  ].join(', '),
);
console.log(`its status: GET ${base}/status/${source}/${encodeURIComponent(fixedId)}`);
process.exit(failed > 0 ? 1 : 0);
