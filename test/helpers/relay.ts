import { createConnection, createServer, type Socket } from 'node:net';

export interface StallingRelay {
  /** The database URL through the relay. */
  url: string;
  /**
   * Holds whatever goes through the connections open now, in both directions, without closing them; with `newOnes`
   * (the default), through those opened later too. `stall(false)` is a host gone for good whose service is back
   * elsewhere: old connections lead nowhere, new ones get through.
   */
  stall(newOnes?: boolean): void;
  /** Lets everything through again. */
  resume(): void;
  close(): void;
}

/**
 * A TCP relay to a server that can stop passing anything on without closing a connection: a network that drops
 * packets, or a server that stopped answering (a hang, not a refusal).
 */
export async function stallingRelay(url: string): Promise<StallingRelay> {
  const target = new URL(url);
  const pairs: [Socket, Socket][] = [];
  let stalled = false;
  const server = createServer((client) => {
    const upstream = createConnection(Number(target.port), target.hostname);
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      from.on('data', (chunk) => to.write(chunk));
      from.on('close', () => to.destroy());
      from.on('error', () => to.destroy());
    }
    pairs.push([client, upstream]);
    if (stalled) for (const socket of [client, upstream]) socket.pause();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const relayed = new URL(url);
  relayed.port = String((server.address() as { port: number }).port);
  return {
    url: relayed.toString(),
    stall: (newOnes = true) => {
      stalled = newOnes;
      for (const pair of pairs) for (const socket of pair) socket.pause();
    },
    resume: () => {
      stalled = false;
      for (const pair of pairs) for (const socket of pair) socket.resume();
    },
    close: () => {
      for (const pair of pairs) for (const socket of pair) socket.destroy();
      server.close();
    },
  };
}
