import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { InferdError } from '../../../src/api/errors.js';
import { readModelBytes, sklearnRuntime } from '../../../src/runtimes/sklearn/index.js';
import { context, FIXTURES, hostileCases } from './helpers.js';

/** Files the payloads would create if anything ran them. */
const MARKERS = ['os-system', 'eval', 'subprocess', 'hidden'].map((m) => `/tmp/inferd-sklearn-pwned-${m}`);

/** What each hostile file must be refused for. */
const REASONS: Record<string, RegExp> = {
  os_system: /refers to (posix|os|nt)\.system, which the sklearn runtime does not allow/,
  builtins_eval: /refers to (__builtin__|builtins)\.eval, which the sklearn runtime does not allow/,
  subprocess: /refers to subprocess\.check_call, which the sklearn runtime does not allow/,
  hidden_in_model: /refers to (posix|os)\.system/,
  unknown_class: /refers to collections\.Counter/,
  truncated: /truncated/,
  truncated_pickle: /truncated/,
  deep_nesting_marks: /nests deeper than \d+ marks/,
  deep_nesting_lists: /nests containers deeper than \d+ levels/,
  deep_nesting_memo: /not a scikit-learn estimator/,
  huge_length: /BINUNICODE8 declares more than 2\^53 bytes/,
  huge_bytes_length: /BYTEARRAY8 declares 1099511627776 bytes/,
  huge_memo_index: /memo entry 0 is read before it is written/,
  wrong_format: /zip archive, not a pickle/,
  text_file: /not a pickle \(protocol 2 to 5\) or joblib file/,
  xz_compressed: /xz-compressed joblib, which the sklearn runtime does not read/,
  bz2_compressed: /bz2-compressed joblib/,
  zlib_bomb: /stack exceeds \d+ values/,
  not_an_estimator: /model is dict, not a scikit-learn estimator/,
};

for (const m of MARKERS) rmSync(m, { force: true });

test('every hostile fixture has an expected reason', () => {
  assert.deepEqual(hostileCases(), Object.keys(REASONS).sort());
});

for (const name of hostileCases()) {
  test(`hostile fixture ${name} is refused with a clear error`, async () => {
    await assert.rejects(sklearnRuntime.load(context(join(FIXTURES, 'hostile', name))), (err: unknown) => {
      assert.ok(InferdError.is(err), `not an InferdError: ${String(err)}`);
      assert.equal(err.code, 'invalid_input');
      assert.match(err.message, REASONS[name]!);
      return true;
    });
    for (const m of MARKERS) assert.equal(existsSync(m), false, `${m} exists: a payload ran`);
  });
}

function refused(bytes: number[] | Uint8Array, pattern: RegExp): void {
  assert.throws(() => readModelBytes(Uint8Array.from(bytes)), (err: unknown) => {
    assert.ok(InferdError.is(err));
    assert.equal(err.code, 'invalid_input');
    assert.match(err.message, pattern);
    return true;
  });
}

test('STACK_GLOBAL names are checked too', () => {
  const enc = (s: string): number[] => [0x8c, s.length, ...Buffer.from(s)];
  refused([0x80, 0x04, ...enc('os'), ...enc('system'), 0x93, 0x2e], /refers to os\.system/);
});

test('a pickle without STOP is truncated', () => {
  refused([0x80, 0x02, 0x4e], /truncated: stream ended/);
});

test('unsupported protocols and opcodes are refused', () => {
  refused([0x80, 0x01, 0x4e, 0x2e], /protocol 1 is not supported/);
  refused([0x80, 0x05, 0x97, 0x2e], /out-of-band buffers/);
  refused([0x80, 0x02, 0x50, 0x31, 0x0a, 0x2e], /persistent ids/);
});

test('a huge memo index is allowed but reading an unset one is not', () => {
  refused([0x80, 0x02, 0x6a, 0x05, 0x00, 0x00, 0x00, 0x2e], /memo entry 5 is read before/);
});

test('numpy arrays whose shape does not match their data are refused', () => {
  // _reconstruct(ndarray, (0,), b'b') then BUILD (1, (1000,), dtype('f8'), False, b'12345678')
  const g = (m: string, n: string): number[] => [0x63, ...Buffer.from(`${m}\n${n}\n`)];
  const bytes = [0x80, 0x02, ...g('numpy.core.multiarray', '_reconstruct'), ...g('numpy', 'ndarray'), 0x4b, 0x00, 0x85, 0x43, 0x01, 0x62, 0x87, 0x52,
    0x28, 0x4b, 0x01, 0x4d, 0xe8, 0x03, 0x85, ...g('numpy', 'dtype'), 0x8c, 0x02, ...Buffer.from('f8'), 0x89, 0x88, 0x87, 0x52,
    0x28, 0x4b, 0x03, 0x8c, 0x01, 0x3c, 0x4e, 0x4e, 0x4e, 0x4a, 0xff, 0xff, 0xff, 0xff, 0x4a, 0xff, 0xff, 0xff, 0xff, 0x4b, 0x00, 0x74, 0x62,
    0x89, 0x43, 0x08, ...Buffer.from('12345678'), 0x74, 0x62, 0x2e];
  refused(bytes, /holds 8 bytes, its shape and dtype need 8000/);
});

test('numpy arrays with astronomically many elements are refused before allocation', () => {
  const g = (m: string, n: string): number[] => [0x63, ...Buffer.from(`${m}\n${n}\n`)];
  const big = [0x8a, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x40]; // 2^62
  const bytes = [0x80, 0x02, ...g('numpy.core.multiarray', '_reconstruct'), ...g('numpy', 'ndarray'), 0x4b, 0x00, 0x85, 0x43, 0x01, 0x62, 0x87, 0x52,
    0x28, 0x4b, 0x01, ...big, 0x85, ...g('numpy', 'dtype'), 0x8c, 0x02, ...Buffer.from('f8'), 0x89, 0x88, 0x87, 0x52,
    0x89, 0x43, 0x00, 0x74, 0x62, 0x2e];
  refused(bytes, /exceeds the limit/);
});
