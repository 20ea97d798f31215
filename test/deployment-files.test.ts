import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import ts from 'typescript';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../src/config/config.js';

/** The deployment files (README, .ci/run, Dockerfile, docker-compose.yml) agree with each other and with the code. */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');

interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  environment?: Record<string, string> | string[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string | string[] };
  ports?: string[];
  stop_grace_period?: string;
  configs?: { source: string; target: string }[];
}

// `merge: true`: the api services take their settings from the `x-api` anchor through `<<`, as Compose does.
const compose = parseYaml(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, ComposeService>;
  configs?: Record<string, { content?: string }>;
};
const services = compose.services;
const API_REPLICAS = ['api-1', 'api-2'];

/** Compose interpolates `$VAR` in the whole file; `$$` is a literal `$`. */
function composeText(value: string): string {
  return value.replace(/\$\$/g, '$');
}

function seconds(duration: string): number {
  const match = /^(\d+)(ms|s|m)$/.exec(duration);
  if (!match) throw new Error(`unreadable duration ${duration}`);
  return Number(match[1]) * { ms: 0.001, s: 1, m: 60 }[match[2] as 'ms' | 's' | 'm'];
}

function environment(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (!Array.isArray(env)) return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
  return Object.fromEntries(env.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
}

function healthcheckCommand(service: ComposeService): string {
  const test = service.healthcheck?.test;
  return Array.isArray(test) ? test.join(' ') : (test ?? '');
}

/** Non-comment lines of a shell script, trimmed, with backslash continuations joined. */
function shellCommands(script: string): string[] {
  return script
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** Lines of the fenced code blocks in the README's "Quick start" section. */
function quickStartCommands(readme: string): string[] {
  const section = readme.split(/^## /m).find((part) => /^Quick start\b/i.test(part));
  if (!section) throw new Error('README.md has no "## Quick start" section');
  const lines: string[] = [];
  for (const block of section.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)) {
    lines.push(...block[1]!.split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#')));
  }
  return lines;
}

function dockerInstructions(dockerfile: string): { instruction: string; args: string }[] {
  return dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [instruction, ...rest] = line.split(/\s+/);
      return { instruction: instruction!.toUpperCase(), args: rest.join(' ') };
    });
}

describe('docker-compose.yml', () => {
  it('runs postgres, redis, two api replicas and a load balancer', () => {
    expect(Object.keys(services).sort()).toEqual(['api-1', 'api-2', 'lb', 'postgres', 'redis']);
    expect(services.postgres!.image).toBe('postgres:17');
    expect(services.redis!.image).toBe('redis:7');
    expect(services.lb!.image).toMatch(/^nginx:/);
  });

  it('health-checks every service; the replicas by their readiness (/readyz)', () => {
    expect(healthcheckCommand(services.postgres!)).toMatch(/\bpg_isready\b/);
    expect(healthcheckCommand(services.redis!)).toMatch(/\bredis-cli ping\b/);
    for (const name of API_REPLICAS) expect(healthcheckCommand(services[name]!)).toContain("fetch('http://127.0.0.1:3000/readyz')");
    expect(healthcheckCommand(services.lb!)).toContain('http://127.0.0.1/healthz');
  });

  it('balances over both replicas, passing the client address the replicas trust', () => {
    const lb = services.lb!;
    expect(lb.ports).toEqual(['3000:80']);
    expect(lb.depends_on).toEqual({ 'api-1': { condition: 'service_healthy' }, 'api-2': { condition: 'service_healthy' } });
    const mount = lb.configs?.[0];
    expect(mount?.target).toBe('/etc/nginx/conf.d/default.conf');
    const conf = composeText(compose.configs?.[mount!.source]?.content ?? '');
    const upstream = /upstream (\w+) \{([^}]*)\}/.exec(conf);
    expect(upstream).not.toBeNull();
    expect([...upstream![2]!.matchAll(/server ([\w-]+):(\d+)/g)].map((m) => `${m[1]}:${m[2]}`)).toEqual(API_REPLICAS.map((name) => `${name}:3000`));
    expect(conf).toContain(`proxy_pass http://${upstream![1]};`);
    // The client address is set, not appended to (a client cannot choose its rate-limit bucket).
    expect(conf).toMatch(/proxy_set_header X-Forwarded-For \$remote_addr;/);
    for (const name of API_REPLICAS) expect(environment(services[name]!).TRUST_PROXY).toBe('true');
  });

  it('gives in-flight requests time to finish before Compose kills a replica', () => {
    for (const name of API_REPLICAS) {
      const service = services[name]!;
      const timeoutMs = Number(environment(service).SHUTDOWN_TIMEOUT_MS ?? loadConfig({}).shutdownTimeoutMs);
      expect(seconds(service.stop_grace_period ?? '10s') * 1000).toBeGreaterThan(timeoutMs + 2000);
    }
  });

  it('keeps PostgreSQL data in a volume', () => {
    const volumes = (services.postgres as { volumes?: string[] }).volumes ?? [];
    expect(volumes.some((v) => v.endsWith(':/var/lib/postgresql/data'))).toBe(true);
  });

  it('builds both replicas from the Dockerfile; api-2 starts after api-1 is ready (migrations run once)', () => {
    for (const name of API_REPLICAS) {
      const api = services[name]!;
      const build = typeof api.build === 'string' ? { context: api.build } : api.build;
      expect(build?.context).toBe('.');
      expect(build?.dockerfile ?? 'Dockerfile').toBe('Dockerfile');
    }
    const storage = { postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } };
    expect(services['api-1']!.depends_on).toEqual(storage);
    expect(services['api-2']!.depends_on).toEqual({ ...storage, 'api-1': { condition: 'service_healthy' } });
    expect(services['api-1']!.ports).toEqual(['3001:3000']);
    expect(services['api-2']!.ports).toEqual(['3002:3000']);
  });

  it('gives both replicas the same settings', () => {
    expect(environment(services['api-1']!)).toEqual(environment(services['api-2']!));
  });

  it("points the replicas at the compose database and Redis, by service name", () => {
    const env = environment(services['api-1']!);
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['DATABASE_URL', 'REDIS_URL', 'API_URL', 'SITE_URL']));
    expect(new URL(env.DATABASE_URL!).hostname).toBe('postgres');
    expect(new URL(env.REDIS_URL!).hostname).toBe('redis');
    const pg = environment(services.postgres!);
    const db = new URL(env.DATABASE_URL!);
    expect([db.username, db.password, db.pathname]).toEqual([pg.POSTGRES_USER, pg.POSTGRES_PASSWORD, `/${pg.POSTGRES_DB}`]);
  });

  it("gives the replicas only variables the configuration reads, with values it accepts", () => {
    const env = environment(services['api-1']!);
    const readNames = new Set<string>();
    const recording = new Proxy(env, {
      get(target, name) {
        if (typeof name === 'string') readNames.add(name);
        return Reflect.get(target, name);
      },
    });
    const config = loadConfig(recording, root);
    expect(Object.keys(env).filter((name) => !readNames.has(name))).toEqual([]);
    expect(config.databaseUrl).toBe(env.DATABASE_URL);
    expect(config.redisUrl).toBe(env.REDIS_URL);
    expect(config.apiUrl).toBe(env.API_URL!.replace(/\/+$/, ''));
    expect(config.port).toBe(3000); // the port the Dockerfile sets, exposes and health-checks
  });
});

describe('Dockerfile', () => {
  const instructions = dockerInstructions(read('Dockerfile'));
  const froms = instructions.filter((i) => i.instruction === 'FROM').map((i) => i.args);
  const runtime = instructions.slice(instructions.findLastIndex((i) => i.instruction === 'FROM'));

  it('installs production dependencies from the lock file in a separate stage', () => {
    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(instructions.some((i) => i.instruction === 'RUN' && /\bnpm ci --omit=dev\b/.test(i.args))).toBe(true);
    expect(runtime.some((i) => i.instruction === 'COPY' && /--from=\S+ .*node_modules/.test(i.args))).toBe(true);
  });

  it('runs on node:20-bookworm-slim as a non-root user', () => {
    expect(froms.at(-1)).toMatch(/^node:20-bookworm-slim\b/);
    const users = runtime.filter((i) => i.instruction === 'USER').map((i) => i.args.split(':')[0]);
    expect(users.length).toBeGreaterThan(0);
    expect(['root', '0']).not.toContain(users.at(-1));
  });

  /** The stage that compiles the server (`npm run build`, tsc to dist/). */
  const build = (() => {
    const end = instructions.findIndex((i) => i.instruction === 'RUN' && /\bnpm run build\b/.test(i.args));
    const start = instructions.slice(0, end + 1).findLastIndex((i) => i.instruction === 'FROM');
    return { from: instructions[start]?.args ?? '', steps: end < 0 ? [] : instructions.slice(start, end + 1) };
  })();
  const copiedBy = (steps: typeof instructions) =>
    steps.filter((i) => i.instruction === 'COPY' && !i.args.startsWith('--from')).flatMap((i) => i.args.split(/\s+/).slice(0, -1));

  it('compiles the server in a build stage with every dependency, from every source folder it imports', () => {
    expect(build.steps.length, 'a stage that runs npm run build').toBeGreaterThan(0);
    expect(build.steps.some((i) => i.instruction === 'RUN' && /\bnpm ci\b/.test(i.args) && !/--omit=dev/.test(i.args))).toBe(true);
    const copied = copiedBy(build.steps);
    for (const source of copied) expect(fs.existsSync(path.join(root, source)), source).toBe(true);
    for (const needed of ['src/', 'schema/', 'rest-facade/', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'mikro-orm.config.ts']) {
      expect(copied).toContain(needed);
    }
  });

  it('ships the compiled output and the production dependencies, not the sources', () => {
    const stage = /\bAS\s+(\S+)/i.exec(build.from)?.[1];
    expect(runtime.some((i) => i.instruction === 'COPY' && i.args.startsWith(`--from=${stage} `) && /\/app\/dist\s/.test(i.args))).toBe(true);
    const copied = copiedBy(runtime);
    for (const source of copied) expect(fs.existsSync(path.join(root, source)), source).toBe(true);
    expect(copied).toEqual(expect.arrayContaining(['package.json', 'package-lock.json']));
    for (const source of ['src/', 'schema/', 'rest-facade/']) expect(copied).not.toContain(source);
  });

  it('serves on port 3000 with a health check, starting the same command as `npm run start:prod`', () => {
    expect(runtime.some((i) => i.instruction === 'ENV' && /\bPORT=3000\b/.test(i.args))).toBe(true);
    expect(runtime.some((i) => i.instruction === 'ENV' && /\bNODE_ENV=production\b/.test(i.args))).toBe(true);
    expect(runtime.some((i) => i.instruction === 'EXPOSE' && i.args === '3000')).toBe(true);
    expect(runtime.find((i) => i.instruction === 'HEALTHCHECK')?.args).toContain("'/readyz'");
    expect(runtime.find((i) => i.instruction === 'STOPSIGNAL')?.args).toBe('SIGTERM');
    const cmd = JSON.parse(runtime.findLast((i) => i.instruction === 'CMD')!.args) as string[];
    // node directly (no npm in between), so that SIGTERM reaches the server.
    const startProd = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts['start:prod']!;
    expect(cmd[0]).toBe('node');
    expect(cmd.join(' ')).toBe(startProd);
    expect(cmd.at(-1)).toBe('dist/src/server/main.js');
  });

  it('leaves local state and dependencies out of the build context', () => {
    const ignored = read('.dockerignore').split('\n').map((line) => line.trim());
    for (const entry of ['node_modules', '.data', '.git', '.env', 'scratch', 'bench/results']) expect(ignored).toContain(entry);
  });
});

describe('npm run build (tsconfig.build.json)', () => {
  /**
   * Every file `tsc -p tsconfig.build.json` compiles, and so emits to dist/, as TypeScript itself works it out: the
   * config's include/exclude, then everything those files import. Root-relative paths, declaration files left out.
   */
  const compiled = (() => {
    const configPath = path.join(root, 'tsconfig.build.json');
    const { config, error } = ts.readConfigFile(configPath, ts.sys.readFile);
    if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
    const parsed = ts.parseJsonConfigFileContent(config, ts.sys, root, undefined, configPath);
    const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
    return program
      .getSourceFiles()
      .map((file) => path.relative(root, file.fileName).split(path.sep).join('/'))
      .filter((file) => !file.startsWith('..') && !file.includes('node_modules/') && !file.endsWith('.d.ts'));
  })();

  it('compiles the server (the entry point of start:prod and everything it imports)', () => {
    expect(JSON.parse(read('package.json')).scripts['start:prod']).toContain('dist/src/server/main.js');
    expect(compiled).toContain('src/server/main.ts');
    expect(compiled).toContain('mikro-orm.config.ts');
  });

  it('leaves out benchmarks, the bulk seed loader, scripts and tests, even through an import from src/', () => {
    expect(compiled.filter((file) => /^(bench|scripts|test)\//.test(file) || /seed-scale/.test(file))).toEqual([]);
  });

  it('npm run seed:scale runs the seed loader from bench/, outside the build', () => {
    expect(JSON.parse(read('package.json')).scripts['seed:scale']).toBe('tsx bench/seed-scale.ts');
    expect(fs.existsSync(path.join(root, 'bench/seed-scale.ts'))).toBe(true);
    expect(fs.existsSync(path.join(root, 'src/cli/seed-scale.ts'))).toBe(false);
  });
});

describe('.ci/run and the README', () => {
  const readme = read('README.md');
  const quickStart = quickStartCommands(readme);
  const testCommands = quickStart.filter((line) => /^npm (run )?test\b/.test(line));

  it('documents the two commands', () => {
    expect(quickStart).toContain('npm install && npm start');
    expect(testCommands).toHaveLength(1);
  });

  it('.ci/run is an executable strict bash script', () => {
    const script = read('.ci/run');
    expect(script.startsWith('#!/usr/bin/env bash\n') || script.startsWith('#!/bin/bash\n')).toBe(true);
    expect(shellCommands(script)).toContain('set -euo pipefail');
    expect(fs.statSync(path.join(root, '.ci/run')).mode & 0o111).toBe(0o111);
  });

  it(".ci/run installs with npm ci, then runs exactly the README's test command, last", () => {
    const commands = shellCommands(read('.ci/run'));
    const install = commands.findIndex((line) => /^npm ci\b/.test(line));
    const test = commands.indexOf(testCommands[0]!);
    expect(install).toBeGreaterThanOrEqual(0);
    expect(test).toBeGreaterThan(install);
    expect(commands.at(-1)).toBe(testCommands[0]);
    expect(commands.filter((line) => /^npm (run )?test\b/.test(line))).toEqual([testCommands[0]]);
  });

  it('.ci/run gives the tests the machine PostgreSQL and Redis', () => {
    const script = read('.ci/run');
    expect(script).toMatch(/export TEST_DATABASE_URL\b/);
    expect(script).toMatch(/export REDIS_URL="?redis:\/\/127\.0\.0\.1:6379/);
    expect(script).toMatch(/pg_isready/);
    expect(script).toMatch(/redis-cli .*ping/);
  });
});
