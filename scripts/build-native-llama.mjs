#!/usr/bin/env node
/**
 * Builds build/inferd-llama.node (native/*.c) at install: a persistent ggml threadpool for
 * each llama.cpp context node-llama-cpp creates, and native generation (docs/llm.md).
 * Compiled with the system C compiler against the headers of the llama.cpp release that
 * node-llama-cpp ships (its gitRelease.bundle) and linked to its CPU prebuilt, which the
 * library finds relative to itself. Optional: on any failure it says why and exits 0,
 * and inferd then runs LLMs as before (src/runtimes/llm/native-llama.ts logs which).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'build', 'inferd-llama.node');

function skip(why) {
  console.log(`inferd-llama: not built (${why}); LLMs run on node-llama-cpp alone`);
  process.exit(0);
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) skip(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) skip(`${cmd} ${args[0]} failed: ${(r.stderr || r.stdout || '').trim().slice(-400)}`);
}

/** A package's folder as Node would find it from `from` (package.json is not exported, so not require.resolve). */
function resolveDir(pkg, from = ROOT) {
  const paths = createRequire(join(from, 'package.json')).resolve.paths(pkg) ?? [];
  return paths.map((p) => join(p, pkg)).find((d) => existsSync(join(d, 'package.json')));
}

if (process.platform !== 'linux' || process.arch !== 'x64') skip(`no CPU prebuilt handled for ${process.platform}-${process.arch}`);
const llamaDir = resolveDir('node-llama-cpp');
const binsPkg = llamaDir && resolveDir('@node-llama-cpp/linux-x64', llamaDir);
if (!llamaDir || !binsPkg) skip('node-llama-cpp or its linux-x64 prebuilt is not installed');
const bins = join(binsPkg, 'bins', 'linux-x64');
const bundle = join(llamaDir, 'llama', 'gitRelease.bundle');
if (!existsSync(join(bins, 'libllama.v0.5.0.so'))) skip(`${bins} has no libllama.v0.5.0.so (node-llama-cpp upgraded? update the link names here)`);
if (!existsSync(bundle)) skip(`${bundle} missing`);
const nodeApi = [join(dirname(process.execPath), '..', 'include', 'node'), join(resolveDir('node-api-headers') ?? '', 'include')]
  .find((d) => existsSync(join(d, 'node_api.h')));
if (!nodeApi) skip("node_api.h not found (Node's include/node, or the node-api-headers package)");

const work = mkdtempSync(join(tmpdir(), 'inferd-llama-'));
try {
  run('git', ['clone', '--quiet', '--bare', bundle, join(work, 'src.git')]);
  const headers = join(work, 'headers');
  mkdirSync(headers);
  const archive = spawnSync('git', ['-C', join(work, 'src.git'), 'archive', 'HEAD', 'include', 'ggml/include'], { maxBuffer: 64 << 20 });
  if (archive.status !== 0) skip(`git archive failed: ${archive.stderr.toString().slice(-400)}`);
  const untar = spawnSync('tar', ['-x', '-C', headers], { input: archive.stdout });
  if (untar.status !== 0) skip(`tar failed: ${untar.stderr.toString().slice(-400)}`);
  mkdirSync(dirname(OUT), { recursive: true });
  run(process.env.CC || 'cc', [
    '-O2', '-shared', '-fPIC', '-Wall', '-Werror',
    '-I', join(headers, 'include'), '-I', join(headers, 'ggml', 'include'), '-I', nodeApi,
    ...['contexts.c', 'generate.c', 'penalty-sampler.c', 'sort-sampler.c', 'addon.c'].map((f) => join(ROOT, 'native', f)), '-o', OUT,
    '-L', bins, '-l:libllama.v0.5.0.so', '-l:libggml-base.so', '-l:libggml.v0.5.0.so',
    `-Wl,-rpath,$ORIGIN/${relative(dirname(OUT), bins)}`, '-ldl', '-lpthread',
  ]);
  console.log(`inferd-llama: built ${relative(ROOT, OUT)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
