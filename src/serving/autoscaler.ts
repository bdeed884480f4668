export interface AutoscaleOptions {
  min: number;
  max: number;
  /** Target in-flight requests (concurrency) or requests/s (rps) per replica: KServe's scaleTarget. */
  target: number;
  metric: 'concurrency' | 'rps';
  stableWindowMs: number;
  panicWindowMs: number;
  tickMs: number;
}

export interface Scalable {
  /** Requests in flight (running and queued) right now. */
  inflight(): number;
  /** Requests completed so far (for the rps metric). */
  completed(): number;
  replicas(): number;
  scaleTo(n: number): Promise<void>;
}

export interface ScaleDecision {
  time: string;
  from: number;
  to: number;
  observed: number;
  panic: boolean;
}

const PANIC_THRESHOLD = 2;

/**
 * Knative's KPA on one machine: every tick it samples the metric, averages it over
 * a stable window and a shorter panic window, and asks for ceil(observed / target)
 * replicas. When the panic window wants twice the current count it scales up at
 * once and does not scale down until the panic passes.
 */
export class Autoscaler {
  private readonly samples: Array<{ at: number; value: number }> = [];
  private readonly timer: NodeJS.Timeout;
  private lastCompleted: number;
  private lastTick = Date.now();
  private panicUntil = 0;
  private scaling = false;
  desired: number;
  readonly decisions: ScaleDecision[] = [];

  constructor(private readonly target: Scalable, private readonly opts: AutoscaleOptions, private readonly onDecision: (d: ScaleDecision) => void) {
    this.desired = target.replicas();
    this.lastCompleted = target.completed();
    this.timer = setInterval(() => void this.tick(), opts.tickMs);
    this.timer.unref();
  }

  private sample(now: number): number {
    if (this.opts.metric === 'concurrency') return this.target.inflight();
    const done = this.target.completed();
    const rps = ((done - this.lastCompleted) * 1000) / Math.max(1, now - this.lastTick);
    this.lastCompleted = done;
    return rps;
  }

  private average(now: number, windowMs: number): number {
    const inWindow = this.samples.filter((s) => s.at > now - windowMs);
    return inWindow.length ? inWindow.reduce((a, s) => a + s.value, 0) / inWindow.length : 0;
  }

  private async tick(): Promise<void> {
    const now = Date.now();
    this.samples.push({ at: now, value: this.sample(now) });
    this.lastTick = now;
    while (this.samples.length && this.samples[0]!.at <= now - this.opts.stableWindowMs) this.samples.shift();
    const current = this.target.replicas();
    const stable = this.average(now, this.opts.stableWindowMs);
    const panicObserved = this.average(now, this.opts.panicWindowMs);
    const wantStable = Math.ceil(stable / this.opts.target);
    const wantPanic = Math.ceil(panicObserved / this.opts.target);
    if (wantPanic >= PANIC_THRESHOLD * current) this.panicUntil = now + this.opts.stableWindowMs;
    const panic = now < this.panicUntil;
    const want = panic ? Math.max(current, wantPanic) : wantStable;
    this.desired = Math.min(this.opts.max, Math.max(this.opts.min, want));
    if (this.desired === current || this.scaling) return;
    const decision: ScaleDecision = { time: new Date(now).toISOString(), from: current, to: this.desired, observed: panic ? panicObserved : stable, panic };
    this.decisions.push(decision);
    if (this.decisions.length > 50) this.decisions.shift();
    this.onDecision(decision);
    this.scaling = true;
    try {
      await this.target.scaleTo(this.desired);
    } finally {
      this.scaling = false;
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
