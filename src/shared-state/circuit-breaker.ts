export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  failureThreshold: number;
  /** Time open before one probe is allowed (half-open). */
  cooldownMs: number;
}

/**
 * Closed → (N consecutive failures) → open → (cool-down) → half-open: one probe goes
 * through; its success closes the breaker, its failure opens it for another cool-down.
 * While open, callers skip the dependency entirely, so a dead Redis costs nothing per request.
 */
export class CircuitBreaker {
  state: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probing = false;

  constructor(
    private readonly opts: BreakerOptions,
    private readonly onChange: (to: BreakerState, from: BreakerState) => void = () => undefined,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Whether a call may go to the dependency now; in half-open only the one probe may. */
  allow(): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open') {
      if (this.now() - this.openedAt < this.opts.cooldownMs) return false;
      this.set('half-open');
    }
    if (this.probing) return false;
    this.probing = true;
    return true;
  }

  success(): void {
    this.failures = 0;
    this.probing = false;
    if (this.state !== 'closed') this.set('closed');
  }

  failure(): void {
    this.probing = false;
    if (this.state === 'half-open' || (this.state === 'closed' && ++this.failures >= this.opts.failureThreshold)) {
      this.openedAt = this.now();
      this.failures = 0;
      this.set('open');
    }
  }

  private set(to: BreakerState): void {
    const from = this.state;
    this.state = to;
    this.onChange(to, from);
  }
}
