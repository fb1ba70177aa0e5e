/**
 * The ingest against a bare node:http server (reads and parses the JSON, answers 200) and a plain
 * Hono receiver (`SET NX` + `Queue.add`, none of oncehook's guarantees), driven by the same load
 * generator with the same deliveries: fresh event ids, or each id five times in a row.
 */
import { randomPrefix, startIngest, startTestRedis } from '@oncehook/testing';
import { type LoadResult, load } from './load.ts';
import { startBaseline } from './targets.ts';

export interface IngestRun extends LoadResult {
  target: string;
  deliveries: 'unique' | '5x each';
}

export async function ingestRuns({
  seconds,
  quick,
}: {
  seconds: number;
  quick: boolean;
}): Promise<IngestRun[]> {
  const redis = await startTestRedis();
  const runs: IngestRun[] = [];
  const measure = async (target: string, url: string, repeats: (1 | 5)[]) => {
    await load(url, { seconds: 1, prefix: `warm${target.length}` }); // JIT, connections, scripts
    for (const repeat of repeats) {
      const result = await load(url, { seconds, repeat });
      runs.push({ target, deliveries: repeat === 1 ? 'unique' : '5x each', ...result });
    }
  };
  try {
    const bare = await startBaseline('bare-http');
    await measure('bare node:http', bare.url, [1]);
    await bare.stop();

    const plain = await startBaseline('plain-hono', redis.url, randomPrefix('plain'));
    await measure('plain Hono (SET NX + Queue.add)', plain.url, quick ? [1] : [1, 5]);
    await plain.stop();

    for (const processes of quick ? [1] : [1, 2]) {
      const ingest = await startIngest({
        REDIS_URL: redis.url,
        QUEUE_PREFIX: randomPrefix('ing'),
        LOG_LEVEL: 'error',
        INGEST_PROCESSES: String(processes),
      });
      await measure(`oncehook ingest x${processes}`, `${ingest.base}/webhook`, quick ? [1] : [1, 5]);
      ingest.kill();
      await ingest.exited;
    }
  } finally {
    redis.stop();
  }
  return runs;
}
