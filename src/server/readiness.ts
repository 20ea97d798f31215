/**
 * Readiness: what each dependency reports about itself, for the /readyz endpoint (src/ops/health.ts) and for tests.
 *
 * A component is `ok`, `degraded` (the service answers, with reduced guarantees: e.g. the rate limiter counts
 * per process because Redis is unreachable) or `down` (the service cannot answer correctly). The overall status is
 * the worst component's; `ready` is false only when something is down, so a load balancer keeps a degraded
 * replica in rotation.
 *
 * Two kinds of checks: `register` for cheap synchronous ones (a component's own view of itself, read on every
 * report) and `registerProbe` for ones that must ask something over the network (the database), run by `check()`
 * only, each bounded by a timeout.
 */
export type ReadinessStatus = 'ok' | 'degraded' | 'down';

export interface ComponentReadiness {
  status: ReadinessStatus;
  /** Human-readable reason, when not ok. */
  detail?: string;
  /** ISO time at which the component entered its current non-ok status. */
  since?: string;
  /** Anything else worth showing (e.g. which store the rate limiter counts in). */
  [extra: string]: unknown;
}

export interface ReadinessReport {
  status: ReadinessStatus;
  ready: boolean;
  components: Record<string, ComponentReadiness>;
}

const RANK: Record<ReadinessStatus, number> = { ok: 0, degraded: 1, down: 2 };

/** A probe that has not answered within this time counts as down. */
export const PROBE_TIMEOUT_MS = 2_000;

function failure(error: unknown): ComponentReadiness {
  return { status: 'down', detail: error instanceof Error ? error.message : String(error) };
}

function summarise(components: Record<string, ComponentReadiness>): ReadinessReport {
  let status: ReadinessStatus = 'ok';
  for (const component of Object.values(components)) if (RANK[component.status] > RANK[status]) status = component.status;
  return { status, ready: status !== 'down', components };
}

export class Readiness {
  private readonly checks = new Map<string, () => ComponentReadiness>();
  private readonly probes = new Map<string, () => Promise<ComponentReadiness>>();

  /** Adds (or replaces) a component; `check` is called on every report, so it must be cheap and synchronous. */
  register(name: string, check: () => ComponentReadiness): void {
    this.checks.set(name, check);
  }

  /** Adds (or replaces) an asynchronous probe, run by `check()` (not by `report()`), at most PROBE_TIMEOUT_MS. */
  registerProbe(name: string, probe: () => Promise<ComponentReadiness>): void {
    this.probes.set(name, probe);
  }

  /** The synchronous components only. */
  report(): ReadinessReport {
    const components: Record<string, ComponentReadiness> = {};
    for (const [name, check] of this.checks) {
      try {
        components[name] = check();
      } catch (error) {
        components[name] = failure(error);
      }
    }
    return summarise(components);
  }

  /** Every probe (in parallel, each with its timeout) and every synchronous component, probes first. */
  async check(timeoutMs = PROBE_TIMEOUT_MS): Promise<ReadinessReport> {
    const probed = await Promise.all(
      [...this.probes].map(async ([name, probe]): Promise<[string, ComponentReadiness]> => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<ComponentReadiness>((resolve) => {
          timer = setTimeout(() => resolve({ status: 'down', detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
        });
        try {
          return [name, await Promise.race([probe().catch(failure), timeout])];
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    return summarise({ ...Object.fromEntries(probed), ...this.report().components });
  }
}
