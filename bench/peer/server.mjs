// The GraphQL peer of `npm run bench` (bench/README.md): PostGraphile 5 with its Amber preset on the bench database,
// served by grafserv on node:http. Plain JavaScript, outside the project's TypeScript build: bench/peer has its own
// package.json and lock file and is installed on demand (`npm --prefix bench/peer ci`).
//
// Version: 5.0.0-rc.3, the newest PostGraphile 5 that runs on Node 20. Every later 5.x (5.0.0-rc.6, 5.0.1, 5.0.3,
// 5.1.4, 5.1.5) declares engines node >= 22 and does fail on Node 20: grafast calls Promise.withResolvers (Node 22),
// so every query that reaches the database answers "An error occurred" and logs
// "TypeError: Cannot read properties of undefined (reading 'items')".
//
// Env: DATABASE_URL, PORT (5678). Pool: pg's default of 10 connections, as our server's ORM pool.
import { createServer } from 'node:http';
import { postgraphile } from 'postgraphile';
import { grafserv } from 'postgraphile/grafserv/node';
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';
import { makePgService } from 'postgraphile/adaptors/pg';

const connectionString = process.env.DATABASE_URL;
const port = Number(process.env.PORT ?? 5678);
const preset = {
  extends: [PostGraphileAmberPreset],
  // Conditions on every column (e.g. `hidden`, which has no index of its own), so the peer can leave hidden things
  // out of a user's list as our server does.
  disablePlugins: ['PgIndexBehaviorsPlugin'],
  pgServices: [makePgService({ connectionString, schemas: ['public'] })],
  grafserv: { port, graphiql: false },
  grafast: { explain: false },
};
const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
server.on('error', (error) => {
  console.error(error);
  process.exit(1);
});
await serv.addTo(server);
server.listen(port, '127.0.0.1', () => console.log(`PostGraphile listening on ${port}`));

const stop = () => {
  server.close(() => void pgl.release().then(() => process.exit(0), () => process.exit(0)));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
