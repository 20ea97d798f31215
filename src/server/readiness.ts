/**
 * Readiness: what each dependency reports about itself, for the /readyz endpoint (ops issue) and for tests.
 *
 * A component is `ok`, `degraded` (the service answers, with reduced guarantees: e.g. the rate limiter counts
 * per process because Redis is unreachable) or `down` (the service cannot answer correctly). The overall status is
 * the worst component's; `ready` is false only when something is down, so a load balancer keeps a degraded
 * replica in rotation.
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

export class Readiness {
  private readonly checks = new Map<string, () => ComponentReadiness>();

  /** Adds (or replaces) a component; `check` is called on every report, so it must be cheap and synchronous. */
  register(name: string, check: () => ComponentReadiness): void {
    this.checks.set(name, check);
  }

  report(): ReadinessReport {
    const components: Record<string, ComponentReadiness> = {};
    let status: ReadinessStatus = 'ok';
    for (const [name, check] of this.checks) {
      let component: ComponentReadiness;
      try {
        component = check();
      } catch (error) {
        component = { status: 'down', detail: error instanceof Error ? error.message : String(error) };
      }
      components[name] = component;
      if (RANK[component.status] > RANK[status]) status = component.status;
    }
    return { status, ready: status !== 'down', components };
  }
}
