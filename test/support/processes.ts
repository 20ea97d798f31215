import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findFreePort } from '../../src/db/free-port.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A TCP port nothing listens on right now (the OS picks it; it is released before being handed out). */
export const freePort = (): Promise<number> => findFreePort();

export interface Spawned {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Sends SIGTERM (SIGKILL after `graceMs`) to this process only, and waits for it to exit. */
  stop(graceMs?: number): Promise<void>;
}

function track(child: ChildProcess): Spawned {
  let out = '';
  child.stdout?.on('data', (chunk) => (out += chunk));
  child.stderr?.on('data', (chunk) => (out += chunk));
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    child,
    output: () => out,
    async stop(graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitFor(spawned: Spawned, pattern: RegExp, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!pattern.test(spawned.output())) {
    if (spawned.child.exitCode !== null) throw new Error(`${what} exited (${spawned.child.exitCode}):\n${spawned.output()}`);
    if (Date.now() - started > timeoutMs) {
      await spawned.stop();
      throw new Error(`${what} did not start within ${timeoutMs} ms:\n${spawned.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface ServerProcess extends Spawned {
  baseUrl: string;
}

/** The process's exit code, once it has exited. */
export function exitCode(spawned: Spawned): Promise<number | null> {
  const child = spawned.child;
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** The real server (`node --import tsx src/server/main.ts`) on a free port, with `env` added to this environment. */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'info', SUBSCRIPTIONS_CRON: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const spawned = track(child);
  await waitFor(spawned, /Flattr API listening/, 30_000, `server on port ${port}`);
  return { ...spawned, baseUrl: `http://127.0.0.1:${port}` };
}

export interface RedisProcess extends Spawned {
  port: number;
  url: string;
}

/** A private, non-persistent redis-server (never the shared one on 6379). */
export async function startRedisServer(port?: number): Promise<RedisProcess> {
  const chosen = port ?? (await freePort());
  const child = spawn('redis-server', ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const spawned = track(child);
  // With --loglevel warning nothing is printed on a normal start: wait until the port answers instead.
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}):\n${spawned.output()}`);
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect(chosen, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() - started > 10_000) {
      await spawned.stop();
      throw new Error(`redis-server on port ${chosen} did not start`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return { ...spawned, port: chosen, url: `redis://127.0.0.1:${chosen}` };
}
