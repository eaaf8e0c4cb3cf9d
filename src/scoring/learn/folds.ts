/** Seeded splits of observations for validation (deterministic for a given seed). */

/** A seeded pseudo-random generator in [0, 1) (mulberry32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fold number 0..k−1 per observation: each class shuffled (seeded) and dealt round-robin, so folds are stratified. */
export function stratifiedFolds(positive: ArrayLike<boolean | number>, k: number, seed: number): Uint8Array {
  if (!(k >= 2 && k <= 255 && Number.isInteger(k))) throw new RangeError(`folds must be an integer 2–255, got ${k}`);
  const random = mulberry32(seed);
  const fold = new Uint8Array(positive.length);
  for (const cls of [true, false]) {
    const members: number[] = [];
    for (let i = 0; i < positive.length; i++) if (Boolean(positive[i]) === cls) members.push(i);
    for (let i = members.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [members[i], members[j]] = [members[j]!, members[i]!];
    }
    members.forEach((obs, r) => (fold[obs] = r % k));
  }
  return fold;
}

/**
 * Time split: the earliest ≈ (1 − holdoutShare) of observations by date train, the rest test; an
 * outcome date never straddles the cut (ties go to training, or the cut moves to the previous date
 * when the last date would otherwise swallow the test set).
 */
export function temporalSplit(dates: string[], holdoutShare: number): { train: Uint8Array; trainUntil: string } {
  if (!(holdoutShare > 0 && holdoutShare < 1)) throw new RangeError(`holdoutShare must be in (0, 1), got ${holdoutShare}`);
  const sorted = [...dates].sort();
  const n = sorted.length;
  let cut = sorted[Math.min(n - 1, Math.max(0, Math.ceil((1 - holdoutShare) * n) - 1))] ?? '';
  if (n > 0 && cut === sorted[n - 1]) {
    const earlier = sorted.filter((d) => d < cut);
    if (earlier.length > 0) cut = earlier.at(-1)!;
  }
  const train = new Uint8Array(n);
  dates.forEach((d, i) => (train[i] = d <= cut ? 1 : 0));
  return { train, trainUntil: cut };
}
