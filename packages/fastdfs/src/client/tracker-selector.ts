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
  /** `rotations[i]`: every tracker in round-robin order starting at `i`, reused while none is cooling. */
  private readonly rotations: Endpoint[][];
  /** Trackers with a cool-down set (retryAt > 0), so the common case needs no clock. */
  private coolingCount = 0;
  private next = 0;

  constructor(
    endpoints: ReadonlyArray<Endpoint>,
    private readonly cooldownMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.states = endpoints.map((endpoint) => ({ endpoint, key: endpointKey(endpoint), retryAt: 0 }));
    this.rotations = this.states.map((_, start) => this.states.map((_state, i) => (this.states[(start + i) % this.states.length] as TrackerState).endpoint));
  }

  /** The trackers to try for one operation, in order. The list may be shared between calls: do not modify it. */
  candidates(): Endpoint[] {
    const count = this.states.length;
    const start = this.next;
    this.next = start + 1 === count ? 0 : start + 1;
    if (this.coolingCount === 0) return this.rotations[start] ?? [];
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
    if (!state) return;
    if (state.retryAt === 0) this.coolingCount++;
    state.retryAt = this.now() + this.cooldownMs;
  }

  markHealthy(endpoint: Endpoint): void {
    if (this.coolingCount === 0) return; // nothing to clear
    const state = this.find(endpoint);
    if (state && state.retryAt !== 0) {
      state.retryAt = 0;
      this.coolingCount--;
    }
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
