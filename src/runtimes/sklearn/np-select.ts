/**
 * numpy 1.24's `argpartition` (introselect) and `argsort` (introsort) on float64, ported
 * step for step: which of several equal values lands where depends on their exact swaps,
 * and scikit-learn's brute-force neighbour search for integer input takes its k nearest
 * with `argpartition(dist, k - 1)` and orders them with `argsort`.
 */

type Idx = Int32Array;

function swap(ix: Idx, a: number, b: number): void {
  const t = ix[a]!;
  ix[a] = ix[b]!;
  ix[b] = t;
}

/** Index of the most significant set bit (npy_get_msb). */
function msb(n: number): number {
  let depth = 0;
  while ((n >>= 1) > 0) depth++;
  return depth;
}

/** `np.argpartition(v, kth)` over `ix[0..num)` (indices into `v`), in place. */
export function argpartition(v: Float64Array, ix: Idx, num: number, kth: number): void {
  introselect(v, ix, 0, num, kth);
}

/** introselect_<double_tag, arg=true> on the window ix[base .. base+num). */
function introselect(v: Float64Array, ix: Idx, base: number, num: number, kth: number): void {
  const at = (i: number): number => v[ix[base + i]!]!;
  const sw = (a: number, b: number): void => swap(ix, base + a, base + b);
  let low = 0;
  let high = num - 1;
  if (kth - low < 3) {
    dumbSelect(v, ix, base + low, high - low + 1, kth - low);
    return;
  }
  if (kth === num - 1) {
    let maxIdx = low;
    let maxVal = at(low);
    for (let k = low + 1; k < num; k++) {
      if (!(at(k) < maxVal)) { maxIdx = k; maxVal = at(k); }
    }
    sw(kth, maxIdx);
    return;
  }
  let depthLimit = msb(num) * 2;
  for (; low + 1 < high;) {
    let ll = low + 1;
    let hh = high;
    if (depthLimit > 0 || hh - ll < 5) {
      const mid = low + ((high - low) >> 1);
      // median3_swap_
      if (at(high) < at(mid)) sw(high, mid);
      if (at(high) < at(low)) sw(high, low);
      if (at(low) < at(mid)) sw(low, mid);
      sw(mid, low + 1);
    } else {
      const mid = ll + medianOfMedian5(v, ix, base + ll, hh - ll);
      sw(mid, low);
      ll--;
      hh++;
    }
    depthLimit--;
    const pivot = at(low);
    for (;;) {
      do ll++; while (at(ll) < pivot);
      do hh--; while (pivot < at(hh));
      if (hh < ll) break;
      sw(hh, ll);
    }
    sw(low, hh);
    if (hh >= kth) high = hh - 1;
    if (hh <= kth) low = ll;
  }
  if (high === low + 1 && at(high) < at(low)) sw(high, low);
}

function dumbSelect(v: Float64Array, ix: Idx, base: number, num: number, kth: number): void {
  for (let i = 0; i <= kth; i++) {
    let minIdx = i;
    let minVal = v[ix[base + i]!]!;
    for (let k = i + 1; k < num; k++) {
      const x = v[ix[base + k]!]!;
      if (x < minVal) { minIdx = k; minVal = x; }
    }
    swap(ix, base + i, base + minIdx);
  }
}

function median5(v: Float64Array, ix: Idx, base: number): number {
  const at = (i: number): number => v[ix[base + i]!]!;
  const sw = (a: number, b: number): void => swap(ix, base + a, base + b);
  if (at(1) < at(0)) sw(1, 0);
  if (at(4) < at(3)) sw(4, 3);
  if (at(3) < at(0)) sw(3, 0);
  if (at(4) < at(1)) sw(4, 1);
  if (at(2) < at(1)) sw(2, 1);
  if (at(3) < at(2)) return at(3) < at(1) ? 1 : 3;
  return 2;
}

function medianOfMedian5(v: Float64Array, ix: Idx, base: number, num: number): number {
  const nmed = Math.floor(num / 5);
  for (let i = 0, sub = 0; i < nmed; i++, sub += 5) {
    const m = median5(v, ix, base + sub);
    swap(ix, base + sub + m, base + i);
  }
  if (nmed > 2) introselect(v, ix, base, nmed, nmed >> 1);
  return nmed >> 1;
}

const SMALL_QUICKSORT = 15;

/** `np.argsort(v[ix])` (kind 'quicksort': numpy's introsort) over ix[0..num), in place. */
export function argsortInPlace(v: Float64Array, ix: Idx, num: number): void {
  const at = (i: number): number => v[ix[i]!]!;
  const stack: number[] = [];
  const depths: number[] = [];
  let pl = 0;
  let pr = num - 1;
  let cdepth = msb(num) * 2;
  for (;;) {
    if (cdepth < 0) {
      heapsort(v, ix, pl, pr - pl + 1);
    } else {
      while (pr - pl > SMALL_QUICKSORT) {
        const pm = pl + ((pr - pl) >> 1);
        if (at(pm) < at(pl)) swap(ix, pm, pl);
        if (at(pr) < at(pm)) swap(ix, pr, pm);
        if (at(pm) < at(pl)) swap(ix, pm, pl);
        const vp = at(pm);
        let pi = pl;
        let pj = pr - 1;
        swap(ix, pm, pj);
        for (;;) {
          do ++pi; while (at(pi) < vp);
          do --pj; while (vp < at(pj));
          if (pi >= pj) break;
          swap(ix, pi, pj);
        }
        swap(ix, pi, pr - 1);
        if (pi - pl < pr - pi) { stack.push(pi + 1, pr); pr = pi - 1; } else { stack.push(pl, pi - 1); pl = pi + 1; }
        depths.push(--cdepth);
      }
      for (let pi = pl + 1; pi <= pr; pi++) {
        const vi = ix[pi]!;
        const vp = v[vi]!;
        let pj = pi;
        while (pj > pl && vp < v[ix[pj - 1]!]!) { ix[pj] = ix[pj - 1]!; pj--; }
        ix[pj] = vi;
      }
    }
    if (stack.length === 0) break;
    pr = stack.pop()!;
    pl = stack.pop()!;
    cdepth = depths.pop()!;
  }
}

/** numpy's aheapsort_ on ix[lo .. lo+n) (the introsort's fallback). */
function heapsort(v: Float64Array, ix: Idx, lo: number, n: number): void {
  // numpy indexes the heap from 1: a[i] is ix[lo + i - 1].
  const a = (i: number): number => lo + i - 1;
  let i: number, j: number, l: number, tmp: number;
  for (l = n >> 1; l > 0; --l) {
    tmp = ix[a(l)]!;
    for (i = l, j = l << 1; j <= n;) {
      if (j < n && v[ix[a(j)]!]! < v[ix[a(j + 1)]!]!) j += 1;
      if (v[tmp]! < v[ix[a(j)]!]!) { ix[a(i)] = ix[a(j)]!; i = j; j += j; } else break;
    }
    ix[a(i)] = tmp;
  }
  for (; n > 1;) {
    tmp = ix[a(n)]!;
    ix[a(n)] = ix[a(1)]!;
    n -= 1;
    for (i = 1, j = 2; j <= n;) {
      if (j < n && v[ix[a(j)]!]! < v[ix[a(j + 1)]!]!) j++;
      if (v[tmp]! < v[ix[a(j)]!]!) { ix[a(i)] = ix[a(j)]!; i = j; j += j; } else break;
    }
    ix[a(i)] = tmp;
  }
}
