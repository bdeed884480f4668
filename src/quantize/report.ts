/** The human-readable report `inferd quantize` prints: size, what changed, what accuracy it cost. */
import type { QuantizeResult } from './quantize.js';

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

const sci = (v: number): string => (v === 0 ? '0' : Number.isFinite(v) ? v.toExponential(2) : String(v));
const pct = (v: number): string => (Number.isFinite(v) ? `${(v * 100).toFixed(3)}%` : String(v));
const counts = (r: Record<string, number>): string => Object.entries(r).map(([op, n]) => `${n} ${op}`).join(', ') || 'none';

export function formatReport(r: QuantizeResult, from = 'input', to = 'output'): string[] {
  const mode = r.mode === 'int8' ? `INT8 dynamic (weights int8 symmetric ${r.perChannel ? 'per-channel' : 'per-tensor'}, activations uint8 at run time)` : `FP16 (inputs/outputs ${r.ioFp16 ? 'FP16' : 'kept FP32'})`;
  const lines = [
    `${from} → ${to}: ${mode}`,
    `size: ${formatBytes(r.sizeBefore)} → ${formatBytes(r.sizeAfter)} (${(r.sizeBefore / r.sizeAfter).toFixed(2)}× smaller)`,
  ];
  if (r.int8) {
    lines.push(`converted: ${counts(r.int8.converted)} → DynamicQuantizeLinear + MatMulInteger (${r.int8.weightsQuantized} weight tensor(s) now INT8); other ops untouched`);
    for (const s of r.int8.skipped) lines.push(`  left FP32: ${s.opType} "${s.node}": ${s.reason}`);
  }
  if (r.fp16) {
    const f = r.fp16;
    lines.push(`converted: ${f.initializersConverted} initializer(s) and ${f.nodesFp16} node(s) to FP16, ${f.castsInserted} Cast(s) inserted`);
    lines.push(`kept FP32: ${counts(f.keptFp32)}${f.addedToBlockList.length ? ` (no FP16 kernel in onnxruntime: ${f.addedToBlockList.join(', ')})` : ''}`);
    if (f.valuesClamped) lines.push(`warning: ${f.valuesClamped} weight value(s) beyond ±65504 clamped to the largest FP16`);
  }
  const a = r.accuracy;
  if (a) {
    lines.push(`accuracy vs the FP32 model, onnxruntime-node, ${a.rows} random rows (inputs uniform in [-${a.inputRange}, ${a.inputRange})):`);
    for (const o of a.outputs) {
      const top1 = o.top1Agreement === undefined ? '' : `, top-1 agreement ${(o.top1Agreement * 100).toFixed(1)}%`;
      lines.push(`  ${o.name}: max abs err ${sci(o.maxAbs)} (${pct(o.ofRange)} of output range ${sci(o.range)}), max rel err ${sci(o.relative)} (of max |output|), mean abs err ${sci(o.meanAbs)}${top1}`);
    }
  }
  return lines;
}
