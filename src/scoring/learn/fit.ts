import { binCandidates, nearDuplicates } from './binned.js';
import { stratifiedFolds, temporalSplit } from './folds.js';
import { rocAuc } from './metrics.js';
import { type ReferenceAucs, references } from './references.js';
import { trainShapeModel } from './shape-train.js';
import type { ShapeTrainOptions } from './shape-train.js';
import { FitError, type Prepared, type TrainedModel, type TrainOptions, prepare, scoreObservations, trainModel } from './train.js';

/**
 * Learn a bands scorecard from renewal outcomes, with cross-validated and
 * time-respecting validation of the whole pipeline. Pure: no I/O.
 */

export { FitError };

export type Group = 'usage' | 'support' | 'surveys' | 'commercial';

export interface FitCandidate {
  key: string;
  feature: string;
  label: string;
  group: Group;
}

export interface FitObservation {
  /** One per candidate; null = missing. */
  raws: (number | null)[];
  churned: boolean;
  /** YYYY-MM-DD. */
  outcomeDate: string;
}

export interface FitOptions {
  /** Bins per measure at most (default 8, at most 20: the scorecard schema's band limit). */
  maxBins?: number;
  /** Smallest bin as a share of the measure's non-null observations (default 0.05). */
  minBinShare?: number;
  /** Ridge penalty of the weights' logistic regression on sub-scores ÷ 100 (default 1). */
  l2?: number;
  /** Cross-validation folds (default 5). */
  folds?: number;
  /** Seed of the fold assignment (default 1). */
  seed?: number;
  /** Share of the latest outcomes held out by the time split (default 0.2). */
  holdoutShare?: number;
  /** A measure with data for a smaller share of the observations is dropped (default 0.05). */
  minCoverage?: number;
  /**
   * A measure whose own AUC is lower is dropped as "no signal" (default 0.52). A rare flag can predict
   * strongly with a low AUC (on 8 % of accounts, churn 50 % vs 20 %: AUC ≈ 0.56); lower this to keep such flags.
   */
  minAuc?: number;
  /**
   * `shapes`: explainable boosting, a shape per measure that may rise and fall, plus a few interaction
   * lines; `monotone`: one monotone step mapping per measure and logistic weights. Default: both, the
   * one with the better cross-validated AUC kept (same folds).
   */
  method?: 'shapes' | 'monotone';
  /** Interaction lines at most (shapes only; default 3, 0: none). */
  maxInteractions?: number;
  /** Candidates whose values correlate beyond this (absolute) are near-duplicates: the later is dropped (default 0.98). */
  duplicateCorrelation?: number;
  /** Compute the reference models (logistic regression, boosted trees) on the same folds (default true). */
  references?: boolean;
  /** Tuning of the shapes method. */
  shapes?: ShapeTrainOptions;
}

export interface FitInput {
  candidates: FitCandidate[];
  observations: FitObservation[];
  options?: FitOptions;
}

export interface FittedMeasure {
  key: string;
  label: string;
  feature: string;
  group: Group;
  /** > 0; the weights sum to 100; 2 decimals. */
  weight: number;
  mapping: TrainedModel['measures'][number]['mapping'];
  /** `interaction`: a line of its own for two measures together (grid mapping; `with` the second one's key). */
  kind: 'measure' | 'interaction';
  with: string | null;
  /** Null for an interaction line; for a shape that rises and falls, the way it leans overall. */
  direction: 'higher_is_healthier' | 'lower_is_healthier' | null;
  /** False where the data showed a shape that rises and falls (or an interaction). */
  monotone: boolean;
  /** This measure alone, on the training data (observations with a value), oriented. */
  auc: number;
  /** Share of the observations with a value. */
  coverage: number;
}

export interface FitResult {
  measures: FittedMeasure[];
  dropped: { key: string; reason: string }[];
  /** P(churn) = 1 / (1 + exp(−(intercept + slope × score))), score the 0–100 scorecard score. */
  calibration: { intercept: number; slope: number };
  /** Thresholds on the fitted score: below red ≈ the riskiest 20 %, at or above green ≈ above the median. */
  bands: { green: number; red: number };
  validation: {
    crossValidatedAuc: { mean: number; sd: number; folds: number[] };
    /** AUCs are NaN when the split leaves a part without both outcomes; `reason` then says why. */
    temporal: { trainUntil: string; trainAuc: number; testAuc: number; testObservations: number; reason: string | null };
    /** Reference models on the same features and folds (null when not computed). */
    references: { logisticRegression: ReferenceAucs; boostedTrees: ReferenceAucs } | null;
    /** Per observation (input order): its risk (−score) from the fold model that did not see it. */
    outOfFoldRisk: number[];
  };
  method: 'shapes' | 'monotone';
  observations: number;
  churned: number;
}

/** Risk (−score) of a trained model on the listed observations (no data → the model's median training score). */
const heldOutRisk = (data: Prepared, model: TrainedModel, rows: number[]) => scoreObservations(data, model, rows).map((s) => -(s ?? model.fallbackScore));

/** AUC of a trained model's scores on the listed observations. */
function heldOutAuc(data: Prepared, model: TrainedModel, rows: number[]): number {
  return rocAuc(
    heldOutRisk(data, model, rows),
    rows.map((i) => data.churned[i] === 1),
  );
}

const rowsWhere = (mask: Uint8Array, value: number) => {
  const rows: number[] = [];
  mask.forEach((m, i) => m === value && rows.push(i));
  return rows;
};

/** Fit a scorecard to outcomes; throws FitError when the data cannot support one. */
export function fitMeasures(input: FitInput): FitResult {
  const { candidates, observations } = input;
  const o = input.options ?? {};
  const train: TrainOptions = {
    maxBins: Math.min(20, Math.max(2, Math.floor(o.maxBins ?? 8))),
    minBinShare: o.minBinShare ?? 0.05,
    l2: o.l2 ?? 1,
    minCoverage: o.minCoverage ?? 0.05,
    minAuc: o.minAuc ?? 0.52,
  };
  const seed = o.seed ?? 1;
  const holdoutShare = o.holdoutShare ?? 0.2;
  observations.forEach((obs, i) => {
    if (obs.raws.length !== candidates.length) throw new FitError(`observation ${i} has ${obs.raws.length} values for ${candidates.length} candidates`);
  });
  const churned = observations.map((obs) => obs.churned);
  const nChurned = churned.filter(Boolean).length;
  const nRetained = observations.length - nChurned;
  if (Math.min(nChurned, nRetained) < 2) throw new FitError(`fitting needs at least 2 churned and 2 retained observations (got ${nChurned} and ${nRetained})`);
  const data = prepare(
    observations.map((obs) => obs.raws),
    churned,
    candidates.length,
  );
  // Unasked, both explainable methods are cross-validated on the same folds and the better one is kept:
  // shapes close on boosted trees where effects bend or interact, monotone steps waste fewer outcomes where they do not.
  if (o.method === undefined) {
    const shapes = fitMeasures({ ...input, options: { ...o, method: 'shapes' } });
    const monotone = fitMeasures({ ...input, options: { ...o, method: 'monotone', references: false } });
    const better = monotone.validation.crossValidatedAuc.mean > shapes.validation.crossValidatedAuc.mean ? monotone : shapes;
    return { ...better, validation: { ...better.validation, references: shapes.validation.references } };
  }
  const method = o.method;
  const keys = candidates.map((c) => c.key);

  // Bins depend on the values alone, so every fold and reference shares them (shapes: 16 bins of at least 2 % and 50
  // outcomes, so a small portfolio's shapes are not noise); near-duplicates are set aside.
  const binned = binCandidates(data, { maxBins: method === 'shapes' ? 16 : train.maxBins, minBinShare: method === 'shapes' ? Math.max(0.02, 50 / Math.max(1, observations.length)) : train.minBinShare, minCoverage: train.minCoverage });
  const usableBefore = candidates.map((_, c) => c).filter((c) => !binned.unusable.has(c));
  const duplicates = nearDuplicates(data, usableBefore, keys, o.duplicateCorrelation ?? 0.98);
  const usable = usableBefore.filter((c) => !duplicates.has(c));
  const shapeOptions: ShapeTrainOptions = { ...(o.shapes ?? {}), ...(o.maxInteractions !== undefined ? { maxInteractions: o.maxInteractions } : {}) };
  const features = candidates.map((c) => c.feature);
  const fitOn = (mask: Uint8Array, warm?: TrainOptions['warmStart']): TrainedModel => {
    if (method === 'monotone') return trainModel(data, mask, { ...train, exclude: duplicates, ...(warm ? { warmStart: warm } : {}) });
    const model = trainShapeModel(data, binned, mask, usable, features, shapeOptions);
    const setAside = [...binned.unusable, ...duplicates].map(([candidate, reason]) => ({ candidate, reason }));
    return { ...model, dropped: [...setAside, ...model.dropped].sort((a, b) => a.candidate - b.candidate) };
  };

  const all = new Uint8Array(data.n).fill(1);
  const final = fitOn(all);

  // k-fold cross-validation of the whole pipeline; a fold whose training part supports no model ranks at chance.
  const k = Math.min(Math.floor(o.folds ?? 5), nChurned, nRetained);
  const foldOf = stratifiedFolds(churned, k, seed);
  const foldAucs: number[] = [];
  // Each observation's risk from the model that did not see it (a fold without a model: all at one risk).
  const outOfFold = new Array<number>(data.n).fill(0);
  for (let f = 0; f < k; f++) {
    const mask = Uint8Array.from(foldOf, (x) => (x === f ? 0 : 1));
    const rows = rowsWhere(mask, 0);
    let auc = 0.5;
    try {
      const risk = heldOutRisk(data, fitOn(mask, final.regression), rows);
      rows.forEach((i, r) => (outOfFold[i] = risk[r]!));
      auc = rocAuc(
        risk,
        rows.map((i) => data.churned[i] === 1),
      );
    } catch (error) {
      if (!(error instanceof FitError)) throw error;
      rows.forEach((i) => (outOfFold[i] = -50));
    }
    foldAucs.push(auc);
  }
  const mean = foldAucs.reduce((s, a) => s + a, 0) / k;
  const sd = Math.sqrt(foldAucs.reduce((s, a) => s + (a - mean) ** 2, 0) / Math.max(1, k - 1));

  // Time split: train on the earlier outcomes, test on the later ones; when it cannot, say why.
  const dates = observations.map((obs) => obs.outcomeDate);
  const split = temporalSplit(dates, holdoutShare);
  const testRows = rowsWhere(split.train, 0);
  const trainRows = rowsWhere(split.train, 1);
  let trainAuc = NaN;
  let testAuc = NaN;
  let reason: string | null = null;
  const classes = (rows: number[]) => {
    const c = rows.reduce((s, i) => s + data.churned[i]!, 0);
    return { churned: c, retained: rows.length - c };
  };
  if (testRows.length === 0) {
    const distinctDates = new Set(dates).size;
    reason =
      distinctDates <= 1
        ? `all ${dates.length} outcomes fall on one date (${dates[0] ?? '—'}): a time split needs outcomes on at least two dates`
        : `no outcome falls after ${split.trainUntil}: a time split needs later outcomes to test on`;
  } else {
    const tr = classes(trainRows);
    const te = classes(testRows);
    if (tr.churned === 0 || tr.retained === 0) reason = `the outcomes until ${split.trainUntil} are all ${tr.churned === 0 ? 'retained' : 'churned'}: nothing to train on`;
    else if (te.churned === 0 || te.retained === 0) reason = `the ${testRows.length} outcomes after ${split.trainUntil} are all ${te.churned === 0 ? 'retained' : 'churned'}: an AUC needs both`;
    else
      try {
        const model = fitOn(split.train, final.regression);
        trainAuc = heldOutAuc(data, model, trainRows);
        testAuc = heldOutAuc(data, model, testRows);
      } catch (error) {
        if (!(error instanceof FitError)) throw error;
        reason = `the earlier outcomes support no model: ${error.message}`;
      }
  }

  const refs = o.references === false ? null : references(data, binned, usable, foldOf, k);
  const keyOf = (m: TrainedModel['measures'][number]) => {
    const a = candidates[m.candidate]!;
    return m.pair === null ? a.key : `${a.key}_x_${candidates[m.pair]!.key}`.slice(0, 63);
  };

  return {
    measures: final.measures.map((m) => {
      const c = candidates[m.candidate]!;
      const p = m.pair === null ? null : candidates[m.pair]!;
      return {
        key: keyOf(m),
        label: p ? `${c.label} × ${p.label}` : c.label,
        feature: c.feature,
        group: c.group,
        weight: m.weight,
        mapping: m.mapping,
        kind: p ? 'interaction' : 'measure',
        with: p ? p.key : null,
        direction: m.direction,
        monotone: m.monotone,
        auc: m.auc,
        coverage: m.coverage,
      };
    }),
    dropped: final.dropped.map((d) => ({ key: candidates[d.candidate]!.key, reason: d.reason })),
    calibration: final.calibration,
    bands: final.bands,
    validation: {
      crossValidatedAuc: { mean, sd, folds: foldAucs },
      temporal: { trainUntil: split.trainUntil, trainAuc, testAuc, testObservations: testRows.length, reason },
      references: refs,
      outOfFoldRisk: outOfFold,
    },
    method,
    observations: data.n,
    churned: nChurned,
  };
}
