import { type Runs, makeBins } from './binning.js';
import type { BinnedColumns } from './gbt.js';
import type { Prepared } from './train.js';

/**
 * Candidates binned once for a whole fit: quantile bins depend on the values
 * alone (never on outcomes), so every fold, the time split and the references
 * share them without leaking anything. Candidates that cannot carry signal
 * (one value, too little data) are set aside with their reason.
 */

export interface Binned extends BinnedColumns {
  /** Per candidate: the lowest raw value of each bin (the scorecard band's `min`). */
  mins: number[][];
  /** Per candidate: share of observations with a value. */
  coverage: number[];
  /** Candidates set aside, with the reason. */
  unusable: Map<number, string>;
}

const percent = (share: number) => (share * 100 < 1 ? (share * 100).toFixed(1) : String(Math.floor(share * 100)));

export function binCandidates(data: Prepared, options: { maxBins: number; minBinShare: number; minCoverage: number }): Binned {
  const binned: Binned = { bins: [], columns: [], mins: [], coverage: [], unusable: new Map() };
  data.distinct.forEach((distinct, c) => {
    const index = data.valueIndex[c]!;
    const counts = new Float64Array(distinct.length);
    for (let i = 0; i < data.n; i++) if (index[i]! >= 0) counts[index[i]!] = counts[index[i]!]! + 1;
    const runs: Runs = { values: Array.from(distinct), counts: Array.from(counts), churned: Array.from(counts, () => 0) };
    const covered = runs.counts.reduce((s, v) => s + v, 0);
    const coverage = data.n === 0 ? 0 : covered / data.n;
    binned.coverage.push(coverage);
    const column = new Int16Array(data.n).fill(-1);
    let bins = runs.values.length <= 1 ? [] : makeBins(runs, options);
    if (runs.values.length === 1) binned.unusable.set(c, 'no information: identical values');
    else if (coverage < options.minCoverage) binned.unusable.set(c, `too little data: ${percent(coverage)} % coverage`);
    else if (bins.length < 2) binned.unusable.set(c, `no information: one value in ${percent(Math.max(...runs.counts) / covered)} % of observations`);
    if (binned.unusable.has(c)) bins = [];
    const mins = bins.map((b) => b.min);
    if (mins.length > 0) {
      // Value index → bin: the last bin whose min is at or below the value.
      const binOfValue = new Int16Array(distinct.length);
      let b = 0;
      for (let v = 0; v < distinct.length; v++) {
        while (b + 1 < mins.length && distinct[v]! >= mins[b + 1]!) b++;
        binOfValue[v] = b;
      }
      for (let i = 0; i < data.n; i++) if (index[i]! >= 0) column[i] = binOfValue[index[i]!]!;
    }
    binned.bins.push(mins.length);
    binned.mins.push(mins);
    binned.columns.push(column);
  });
  return binned;
}

/**
 * Near-duplicate candidates: pairs whose values correlate beyond `threshold` (absolute Pearson, over the
 * observations where both have a value, which must be most of either's). The later one of each pair is
 * dropped with the reason, naming the one kept.
 */
export function nearDuplicates(data: Prepared, usable: number[], keys: string[], threshold = 0.98): Map<number, string> {
  const dropped = new Map<number, string>();
  const value = (c: number, i: number) => {
    const idx = data.valueIndex[c]![i]!;
    return idx < 0 ? NaN : data.distinct[c]![idx]!;
  };
  for (let x = 0; x < usable.length; x++) {
    const a = usable[x]!;
    if (dropped.has(a)) continue;
    for (let z = x + 1; z < usable.length; z++) {
      const b = usable[z]!;
      if (dropped.has(b)) continue;
      let n = 0;
      let na = 0;
      let nb = 0;
      let sa = 0;
      let sb = 0;
      let saa = 0;
      let sbb = 0;
      let sab = 0;
      for (let i = 0; i < data.n; i++) {
        const va = value(a, i);
        const vb = value(b, i);
        if (!Number.isNaN(va)) na++;
        if (!Number.isNaN(vb)) nb++;
        if (Number.isNaN(va) || Number.isNaN(vb)) continue;
        n++;
        sa += va;
        sb += vb;
        saa += va * va;
        sbb += vb * vb;
        sab += va * vb;
      }
      if (n < 3 || n < 0.9 * Math.max(na, nb)) continue;
      const cov = sab - (sa * sb) / n;
      const varA = saa - (sa * sa) / n;
      const varB = sbb - (sb * sb) / n;
      if (!(varA > 0 && varB > 0)) continue;
      const r = cov / Math.sqrt(varA * varB);
      if (Math.abs(r) > threshold) dropped.set(b, `duplicate of ${keys[a]}: correlation ${r.toFixed(3)} on the training data`);
    }
  }
  return dropped;
}
