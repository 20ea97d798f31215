/**
 * Summary of a V8 CPU profile (`node --cpu-prof`): where the server's time goes, by module (package or project
 * folder) and by function, self time and inclusive time, as shares of the busy (non-idle) time. `npx tsx bench/profile.ts FILE.cpuprofile [top] [skip-seconds]`.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** node_modules/<package>, the project folder (src/..., schema, rest-facade), node internals, or (program)/(gc)/(idle). */
export function moduleOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return url;
  const project = /\/(src\/[^/]+|schema|rest-facade|bench)\//.exec(url);
  if (project) return project[1]!;
  return url;
}

/** `skipSeconds`: leave out the first seconds of the profile (start-up: module loading, migrations). */
export function summariseProfile(file: string, top = 25, skipSeconds = 0): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let elapsed = 0;
  profile.samples.forEach((id, i) => {
    elapsed += profile.timeDeltas[i] ?? 0;
    if (elapsed < skipSeconds * 1e6) return;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const all = [...selfUs.values()].reduce((a, b) => a + b, 0);
  // Percentages are of the busy time: idle samples (waiting for I/O, or for load) are left out.
  const idle = [...selfUs.entries()].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((a, [, us]) => a + us, 0);
  const total = all - idle;

  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${moduleOf(n.callFrame.url, n.callFrame.functionName)}:${n.callFrame.lineNumber + 1}`;

  const selfByFunction = new Map<string, number>();
  const selfByModule = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    if (node.callFrame.functionName === '(idle)') continue;
    selfByFunction.set(key(node), (selfByFunction.get(key(node)) ?? 0) + us);
    const mod = moduleOf(node.callFrame.url, node.callFrame.functionName);
    selfByModule.set(mod, (selfByModule.get(mod) ?? 0) + us);
    // Inclusive: each distinct function on the stack once.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = key(byId.get(cur)!);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + us);
    }
  }
  const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
  const list = (map: Map<string, number>, n: number) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => `  ${pct(us)}  ${k}`)
      .join('\n');
  const interesting = new Map([...inclusive.entries()].filter(([k]) => !/^\((root|program|idle|garbage collector)\)/.test(k) && !k.includes('processTicksAndRejections')));
  return [
    `${(all / 1e6).toFixed(1)} s sampled${skipSeconds ? ` after skipping ${skipSeconds.toFixed(1)} s of start-up` : ''}, ${(total / 1e6).toFixed(1)} s busy (percentages are of the busy time)`,
    'Self time by module:',
    list(selfByModule, 15),
    'Self time by function:',
    list(selfByFunction, top),
    'Inclusive time by function:',
    list(interesting, top),
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && process.argv[2]) {
  process.stdout.write(`${summariseProfile(process.argv[2], Number(process.argv[3] ?? 25), Number(process.argv[4] ?? 0))}\n`);
}
