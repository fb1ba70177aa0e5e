import net from 'node:net';

/**
 * A TCP proxy in front of a test's Redis that can play a network fault no signal to Redis can:
 * `blackhole()` makes every connection open at that moment swallow what is sent through it,
 * in both directions, without closing it (no FIN, no RST): what a NAT table or firewall that
 * forgot the connection, or a peer host that vanished, looks like from the client. Connections
 * opened afterwards are forwarded normally. With `latencyMs`, every chunk is held that long first.
 */
export interface TcpProxy {
  port: number;
  url: string;
  blackhole(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(
  target: { host?: string; port: number },
  /** Delay each chunk this long in each direction (in order): a distant Redis, slow enough to act mid-way. */
  { latencyMs = 0 }: { latencyMs?: number } = {},
): Promise<TcpProxy> {
  const live = new Set<{ client: net.Socket; upstream: net.Socket; dead: boolean }>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host ?? '127.0.0.1');
    const pair = { client, upstream, dead: false };
    live.add(pair);
    const forward = (to: net.Socket, d: Buffer) => {
      if (latencyMs === 0) return void (pair.dead || to.write(d));
      setTimeout(() => pair.dead || to.destroyed || to.write(d), latencyMs);
    };
    client.on('data', (d) => forward(upstream, d));
    upstream.on('data', (d) => forward(client, d));
    const end = () => {
      live.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    // A blackholed connection stays open towards the client until the client gives up on it.
    client.on('close', end);
    upstream.on('close', () => !pair.dead && end());
    client.on('error', () => {});
    upstream.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    blackhole() {
      for (const pair of live) pair.dead = true;
    },
    async close() {
      for (const pair of live) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      live.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
