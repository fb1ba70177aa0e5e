type ExecResult = [Error | null, unknown][] | null;

/** The replies of a MULTI/EXEC, throwing the first command error (ioredis returns them as values). */
export function unwrap(results: ExecResult): unknown[] {
  if (!results) throw new Error('Redis transaction aborted');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
