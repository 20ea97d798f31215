import { freePort, measure, startOurServer, table, writeResults, type Measured, type ServerHandle } from './lib.js';
import { startReplicatedPair } from '../test/support/replication.js';
import type { LoadRequest } from './load.js';

/**
 * `npm run bench -- replica` (issue 19): anonymous thing-by-id throughput of our server with one read replica
 * (DATABASE_REPLICA_URLS) against the primary alone, both PostgreSQL clusters local (the machine's binaries: initdb,
 * then pg_basebackup -R, test/support/replication.ts). The server runs as in production (dist/, one process);
 * rounds alternate between the two configurations.
 */
export async function runReplicaBench(options: { things: number; connections: number; duration: number; warmup: number; rounds: number }): Promise<void> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const pair = await startReplicatedPair();
  const servers: ServerHandle[] = [];
  try {
    await pair.primary.query('postgres', 'create database flattr');
    const primaryUrl = pair.primary.url('flattr');
    // Migrate through a first start of the server, then seed with plain SQL.
    const primaryOnly = await startOurServer({ databaseUrl: primaryUrl, port: await freePort(), env: { JOBS: 'false' } });
    servers.push(primaryOnly);
    await pair.primary.query('flattr', `insert into users (username, email, registered_at) values ('benchowner', 'bench@example.org', now()) on conflict do nothing`);
    await pair.primary.query(
      'flattr',
      `insert into things (owner_id, url, title, description, category_id, language_id, created_at)
         select (select id from users where username = 'benchowner'), 'https://bench.example/' || g, 'Bench thing ' || g, 'A thing of the replica bench', 'text', 'en_GB', now()
         from generate_series(1, $1::int) g`,
      [options.things],
    );
    const ids = (await pair.primary.query<{ id: number }>('flattr', 'select id from things order by id')).map((r) => r.id);
    await pair.caughtUp();
    const withReplica = await startOurServer({
      databaseUrl: primaryUrl,
      port: await freePort(),
      env: { JOBS: 'false', DATABASE_REPLICA_URLS: pair.replica.url('flattr') },
    });
    servers.push(withReplica);
    const requests: LoadRequest[] = ids.map((id) => ({ method: 'GET', path: `/rest/v2/things/${id}`, headers: { accept: 'application/json' } }));
    const configurations: [string, ServerHandle][] = [
      ['primary alone', primaryOnly],
      ['one replica', withReplica],
    ];
    const results: Record<string, Measured[]> = {};
    for (let round = 0; round < options.rounds; round++) {
      for (const [name, server] of round % 2 === 0 ? configurations : [...configurations].reverse()) {
        log(`round ${round + 1}/${options.rounds}: ${name}`);
        (results[name] ??= []).push(await measure(server, requests, { connections: options.connections, duration: options.duration, warmup: options.warmup, seed: round + 1 }));
      }
    }
    const routed = await fetch(`${withReplica.baseUrl}/metrics`).then((r) => r.text());
    const reads = Object.fromEntries(
      routed
        .split('\n')
        .filter((l) => l.startsWith('flattr_db_routed_reads_total{'))
        .map((l) => [/target="([^"]{1,32})"/.exec(l)?.[1] ?? '?', Number(l.slice(l.lastIndexOf(' ') + 1))]),
    );
    const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
    const rows = Object.entries(results).map(([name, runs]) => [
      name,
      median(runs.map((r) => r.rps)).toFixed(0),
      median(runs.map((r) => r.p50)).toFixed(1),
      median(runs.map((r) => r.p99)).toFixed(1),
      runs.reduce((n, r) => n + r.errors + r.non2xx, 0),
    ]);
    process.stdout.write(`${table(['configuration', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx/err'], rows)}\n`);
    process.stdout.write(`reads routed by the replica configuration: ${JSON.stringify(reads)}\n`);
    const file = writeResults('replica', { options, results, reads });
    process.stdout.write(`results written to ${file}\n`);
  } finally {
    for (const server of servers) await server.stop().catch(() => undefined);
    await pair.destroy();
  }
}
