import { closeSync, mkdirSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface LogLine {
  /** ms since epoch */
  time: number;
  stream: 'stdout' | 'stderr' | 'inferd';
  text: string;
}

export interface LogBufferOptions {
  /** Lines kept in memory (oldest dropped first). */
  maxLines?: number;
  /** Longer lines are cut, so one runaway line cannot hold the buffer. */
  maxLineBytes?: number;
  /** Also append every line to this file (rotated to `<file>.1` at maxFileBytes). */
  file?: string;
  maxFileBytes?: number;
}

/**
 * A child's output: a bounded ring of recent lines in memory, and optionally a log
 * file with one rotation. Partial lines are held until their newline (or flush).
 */
export class LogBuffer {
  private readonly lines: LogLine[] = [];
  private start = 0;
  private readonly partial: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };
  private readonly maxLines: number;
  private readonly maxLineBytes: number;
  private readonly maxFileBytes: number;
  private fd: number | undefined;
  private fileBytes = 0;

  constructor(private readonly options: LogBufferOptions = {}) {
    this.maxLines = options.maxLines ?? 2000;
    this.maxLineBytes = options.maxLineBytes ?? 8192;
    this.maxFileBytes = options.maxFileBytes ?? 16 * 1024 * 1024;
    if (options.file) this.openFile(options.file);
  }

  get file(): string | undefined {
    return this.fd === undefined ? undefined : this.options.file;
  }

  private openFile(file: string): void {
    try {
      mkdirSync(dirname(file), { recursive: true });
      this.fd = openSync(file, 'a', 0o600);
      this.fileBytes = statSync(file).size;
    } catch {
      this.fd = undefined; // memory only
    }
  }

  /** Appends a chunk of a stream's output. */
  write(stream: 'stdout' | 'stderr', chunk: Buffer | string): void {
    const text = this.partial[stream] + chunk.toString();
    const parts = text.split('\n');
    this.partial[stream] = parts.pop()!;
    for (const p of parts) this.push(stream, p.replace(/\r$/, ''));
    if (this.partial[stream].length > this.maxLineBytes) {
      this.push(stream, this.partial[stream]);
      this.partial[stream] = '';
    }
  }

  /** A line of inferd's own about the process (start, exit, restart). */
  note(text: string): void {
    this.push('inferd', `[inferd] ${text}`);
  }

  /** Emits held partial lines (the process exited mid-line). */
  flush(): void {
    for (const s of ['stdout', 'stderr'] as const) {
      if (this.partial[s]) this.push(s, this.partial[s]);
      this.partial[s] = '';
    }
  }

  private push(stream: LogLine['stream'], raw: string): void {
    const text = raw.length > this.maxLineBytes ? `${raw.slice(0, this.maxLineBytes)}...[cut]` : raw;
    const line = { time: Date.now(), stream, text };
    if (this.lines.length < this.maxLines) this.lines.push(line);
    else {
      this.lines[this.start] = line;
      this.start = (this.start + 1) % this.maxLines;
    }
    this.toFile(line);
  }

  private toFile(line: LogLine): void {
    if (this.fd === undefined) return;
    const data = `${new Date(line.time).toISOString()} ${line.stream} ${line.text}\n`;
    try {
      if (this.fileBytes + data.length > this.maxFileBytes) {
        closeSync(this.fd);
        renameSync(this.options.file!, `${this.options.file!}.1`);
        this.fd = openSync(this.options.file!, 'a', 0o600);
        this.fileBytes = 0;
      }
      this.fileBytes += writeSync(this.fd, data);
    } catch {
      const fd = this.fd;
      this.fd = undefined; // the disk is full or gone: keep the ring only
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
  }

  /** The last `n` lines (all when n is undefined), oldest first. */
  tail(n?: number, stream?: LogLine['stream']): LogLine[] {
    const ordered = [...this.lines.slice(this.start), ...this.lines.slice(0, this.start)];
    const chosen = stream ? ordered.filter((l) => l.stream === stream) : ordered;
    return n === undefined ? chosen : chosen.slice(Math.max(0, chosen.length - n));
  }

  close(): void {
    this.flush();
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = undefined;
    }
  }
}
