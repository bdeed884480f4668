import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { EVENT_LOOP_MONITOR_MS, parseNvidiaSmi } from '../../observability/metrics.js';

export interface ProcessFigures {
  /** CPU time over wall time since the previous sample; 100 = one core busy. */
  cpuPercent: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** Mean event-loop delay over the last sample period. */
  eventLoopLagSeconds: number;
  uptimeSeconds: number;
}

export interface GpuFigures {
  index: string;
  uuid: string;
  utilizationRatio: number;
  memoryUsedBytes: number;
  memoryTotalBytes: number;
}

function onPath(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, bin), constants.X_OK);
      return join(dir, bin);
    } catch {
      // next
    }
  }
  return undefined;
}

/**
 * This process's CPU, memory and event-loop lag, sampled by the dashboard's 1 s tick
 * so every reader sees the same figures over the same period; GPUs from nvidia-smi
 * every 5 s when it is installed (null otherwise, so the page can hide the panel).
 */
export class ProcessSampler {
  private readonly loop: IntervalHistogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_MONITOR_MS });
  private cpu = process.cpuUsage();
  private at = performance.now();
  private figures: ProcessFigures;
  private gpus: GpuFigures[] | null = null;
  private gpuAt = 0;
  private readonly smi = onPath('nvidia-smi');

  constructor() {
    this.loop.enable();
    this.figures = { cpuPercent: 0, rssBytes: process.memoryUsage.rss(), heapUsedBytes: process.memoryUsage().heapUsed, eventLoopLagSeconds: 0, uptimeSeconds: process.uptime() };
  }

  sample(): void {
    const now = performance.now();
    const cpu = process.cpuUsage(this.cpu);
    const wallUs = (now - this.at) * 1000;
    this.cpu = process.cpuUsage();
    this.at = now;
    const mem = process.memoryUsage();
    // The histogram records each timer period, resolution included: lag is what exceeds it.
    const lag = this.loop.count > 0 ? Math.max(0, this.loop.mean / 1e6 - EVENT_LOOP_MONITOR_MS) / 1000 : 0;
    this.loop.reset();
    this.figures = {
      cpuPercent: wallUs > 0 ? Math.round(((cpu.user + cpu.system) / wallUs) * 1000) / 10 : 0,
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      eventLoopLagSeconds: lag,
      uptimeSeconds: Math.round(process.uptime()),
    };
    if (this.smi && Date.now() - this.gpuAt > 5000) {
      this.gpuAt = Date.now();
      execFile(this.smi, ['--query-gpu=index,uuid,utilization.gpu,memory.used,memory.total', '--format=csv,noheader,nounits'], { timeout: 2000 }, (err, stdout) => {
        this.gpus = err ? null : parseNvidiaSmi(stdout).map((r) => ({ index: r.index, uuid: r.uuid, utilizationRatio: r.util / 100, memoryUsedBytes: r.memUsedMiB * 1048576, memoryTotalBytes: r.memTotalMiB * 1048576 }));
      });
    }
  }

  process(): ProcessFigures {
    return this.figures;
  }

  gpu(): GpuFigures[] | null {
    return this.gpus;
  }

  close(): void {
    this.loop.disable();
  }
}
