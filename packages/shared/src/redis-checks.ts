import { Cluster } from 'ioredis';
import type { BaseEnv } from './env.ts';
import type { Logger } from './logger.ts';
import type { RedisClient } from './redis.ts';

/**
 * What the apps check about their Redis once a connection is ready, because a wrong answer breaks
 * the promise quietly instead of failing loudly:
 *
 * - version ≥ 7.0: the record relies on `PEXPIRE … NX/GT`; an older server would answer every
 *   delivery 503, which looks like an outage rather than a configuration error. Read from HELLO,
 *   not INFO: INFO is in @dangerous, which hardened ACLs deny.
 * - `maxmemory-policy noeviction`: a Redis that evicts drops dedupe records (re-deliveries are
 *   processed again) and, under `allkeys-*`, queued jobs (ACKed events are lost). BullMQ's own
 *   production guide requires it for the same reason.
 * - persistence (AOF or RDB saves): without it a restart loses every ACKed event not yet processed.
 */
export const MIN_REDIS_MAJOR = 7;

/** The `version` field of a RESP2 HELLO reply (a flat [key, value, ...] array). */
export function versionFromHello(reply: unknown): string | undefined {
  if (!Array.isArray(reply)) return undefined;
  const at = reply.indexOf('version');
  const value = at >= 0 ? reply[at + 1] : undefined;
  return typeof value === 'string' ? value : undefined;
}

export function isSupportedRedis(version: string): boolean {
  const major = Number.parseInt(version.split('.')[0] ?? '', 10);
  return Number.isFinite(major) && major >= MIN_REDIS_MAJOR;
}

/** `field:value` lines of an INFO reply. */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

export interface ServerFacts {
  server: string;
  version?: string;
  /** undefined: it could not be read (INFO denied). */
  evictionPolicy?: string;
  persistence: 'aof' | 'rdb' | 'none' | 'unknown';
}

type Node = {
  call(...args: string[]): Promise<unknown>;
  options: { host?: string; port?: number };
  stream?: { remoteAddress?: string; remotePort?: number };
};

async function factsOf(node: Node): Promise<ServerFacts> {
  // Through Sentinel the options hold no address: the socket knows which primary it reached.
  const remote = node.stream?.remoteAddress;
  const server = remote
    ? `${remote}:${node.stream?.remotePort}`
    : `${node.options.host ?? '?'}:${node.options.port ?? '?'}`;
  const version = versionFromHello(await node.call('HELLO').catch(() => undefined));
  const info = async (section: string) => parseInfo(String(await node.call('INFO', section).catch(() => '')));
  const memory = await info('memory');
  const persistence = await info('persistence');
  let persisted: ServerFacts['persistence'] = 'unknown';
  if (persistence.get('aof_enabled') === '1') persisted = 'aof';
  else {
    // Whether RDB snapshots are configured is only in CONFIG, which managed services may deny.
    const save = (await node.call('CONFIG', 'GET', 'save').catch(() => undefined)) as string[] | undefined;
    if (Array.isArray(save)) persisted = save[1] ? 'rdb' : 'none';
    else if (persistence.get('aof_enabled') === '0' && persistence.get('rdb_last_save_time') === '0')
      persisted = 'none';
  }
  return { server, version, evictionPolicy: memory.get('maxmemory_policy'), persistence: persisted };
}

/** The facts of every server that holds oncehook's data: the one Redis, or each cluster master. */
export async function readServerFacts(client: RedisClient): Promise<ServerFacts[]> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  return Promise.all(nodes.map((node) => factsOf(node as unknown as Node)));
}

export interface CheckOutcome {
  /** Why the process must not run on this Redis (it then stops), or nothing. */
  fatal?: string;
  warnings: string[];
}

/** What the facts mean for oncehook, given ALLOW_EVICTION. */
export function judgeServers(facts: ServerFacts[], env: Pick<BaseEnv, 'ALLOW_EVICTION'>): CheckOutcome {
  const warnings: string[] = [];
  for (const f of facts) {
    if (f.version && !isSupportedRedis(f.version)) {
      return {
        fatal: `REDIS_URL: Redis ${f.version} at ${f.server} is too old; oncehook needs Redis 7.0 or later`,
        warnings,
      };
    }
    if (f.evictionPolicy === undefined) {
      warnings.push(
        `could not read maxmemory-policy at ${f.server} (INFO denied): make sure it is noeviction, or records and jobs can be evicted`,
      );
    } else if (f.evictionPolicy !== 'noeviction') {
      const why = `Redis at ${f.server} has maxmemory-policy ${f.evictionPolicy}: it may evict dedupe records (re-deliveries processed again) and queued jobs (ACKed events lost)`;
      if (!env.ALLOW_EVICTION) {
        return {
          fatal: `${why}. Set maxmemory-policy noeviction (CONFIG SET maxmemory-policy noeviction, or in redis.conf), or ALLOW_EVICTION=1 to run anyway on a shared Redis`,
          warnings,
        };
      }
      warnings.push(
        `${why}; running anyway because ALLOW_EVICTION=1: exactly-once does not hold while it evicts`,
      );
    }
    if (f.persistence === 'none') {
      warnings.push(
        `Redis at ${f.server} persists nothing (no AOF, no RDB saves): a 200 then lasts only as long as that process; a restart loses every ACKed event not yet processed. Use appendonly yes`,
      );
    } else if (f.persistence === 'unknown') {
      warnings.push(`could not check persistence at ${f.server} (INFO/CONFIG denied): use appendonly yes`);
    }
  }
  return { warnings };
}

/** One start-up check on one server, for /readyz and the `oncehook_redis_check` gauge. */
export interface RedisCheck {
  check: 'version' | 'eviction_policy' | 'persistence';
  server: string;
  /** False when it fails, or could not be read (INFO/CONFIG denied). */
  ok: boolean;
  value: string;
}

/** The checks as both apps' /readyz shows them: `{"<check>@<server>": {ok, value}}`. */
export const readyzChecks = (results: RedisCheck[]) =>
  Object.fromEntries(results.map((r) => [`${r.check}@${r.server}`, { ok: r.ok, value: r.value }]));

export function checkResults(facts: ServerFacts[]): RedisCheck[] {
  return facts.flatMap(({ server, version, evictionPolicy, persistence }) => {
    const check = (check: RedisCheck['check'], ok: boolean, value: string): RedisCheck => ({
      check,
      server,
      ok,
      value,
    });
    return [
      check('version', !!version && isSupportedRedis(version), version ?? 'unknown'),
      check('eviction_policy', evictionPolicy === 'noeviction', evictionPolicy ?? 'unknown'),
      check('persistence', persistence === 'aof' || persistence === 'rdb', persistence),
    ];
  });
}

/**
 * What both apps' `main` does with its connection: log its errors; once it is ready (now, or when
 * Redis comes up), check the server(s), log the warnings and call `onFatal` with a message naming
 * what to change if oncehook must not run there (the app then exits). Resolves once the checks
 * passed: the apps take no delivery and no job before that. `onChecked` gets each check's result
 * (/readyz, /metrics).
 */
export function superviseRedis(
  client: RedisClient,
  log: Logger,
  env: Pick<BaseEnv, 'ALLOW_EVICTION'>,
  onFatal: (message: string) => void,
  onChecked?: (checks: RedisCheck[]) => void,
): Promise<void> {
  client.on('error', (err: Error) => log.warn({ err: err.message }, 'redis connection error'));
  return new Promise((resolve) => {
    const check = async () => {
      const facts = await readServerFacts(client);
      onChecked?.(checkResults(facts));
      const outcome = judgeServers(facts, env);
      for (const warning of outcome.warnings) log.warn(warning);
      if (outcome.fatal) onFatal(outcome.fatal);
      else resolve();
    };
    if (client.status === 'ready') void check();
    else client.once('ready', () => void check());
  });
}
