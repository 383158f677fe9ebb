import { type Endpoint, endpointKey } from './endpoint.js';

interface TrackerState {
  endpoint: Endpoint;
  key: string;
  /** Epoch ms before which the tracker is skipped; 0 when healthy. */
  retryAt: number;
}

/**
 * Chooses trackers round robin. A tracker that failed is skipped until its cool-down
 * ends, then tried again: it is never dropped for good. When every tracker is cooling
 * down they are still all tried, soonest-to-recover first, rather than failing without
 * trying.
 */
export class TrackerSelector {
  private readonly states: TrackerState[];
  private next = 0;

  constructor(
    endpoints: ReadonlyArray<Endpoint>,
    private readonly cooldownMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.states = endpoints.map((endpoint) => ({ endpoint, key: endpointKey(endpoint), retryAt: 0 }));
  }

  /** The trackers to try for one operation, in order. */
  candidates(): Endpoint[] {
    const count = this.states.length;
    const start = this.next;
    this.next = (this.next + 1) % count;
    const now = this.now();
    const healthy: Endpoint[] = [];
    const cooling: TrackerState[] = [];
    for (let i = 0; i < count; i++) {
      const state = this.states[(start + i) % count];
      if (state === undefined) continue;
      if (state.retryAt <= now) healthy.push(state.endpoint);
      else cooling.push(state);
    }
    if (cooling.length === 0) return healthy;
    cooling.sort((a, b) => a.retryAt - b.retryAt);
    return healthy.concat(cooling.map((state) => state.endpoint));
  }

  markFailed(endpoint: Endpoint): void {
    const state = this.find(endpoint);
    if (state) state.retryAt = this.now() + this.cooldownMs;
  }

  markHealthy(endpoint: Endpoint): void {
    const state = this.find(endpoint);
    if (state && state.retryAt !== 0) state.retryAt = 0;
  }

  /** Whether the tracker is currently cooling down after a failure. */
  isCoolingDown(endpoint: Endpoint): boolean {
    return (this.find(endpoint)?.retryAt ?? 0) > this.now();
  }

  private find(endpoint: Endpoint): TrackerState | undefined {
    // Callers pass back the objects candidates() gave them, so identity is the fast path.
    const same = this.states.find((state) => state.endpoint === endpoint);
    if (same) return same;
    const key = endpointKey(endpoint);
    return this.states.find((state) => state.key === key);
  }
}
