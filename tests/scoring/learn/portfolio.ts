import type { FitCandidate, FitObservation } from '../../../src/scoring/learn/fit.js';
import { mulberry32 } from '../../../src/scoring/learn/folds.js';
import { sigmoid } from '../../../src/scoring/learn/logistic.js';

/**
 * A synthetic portfolio with a known latent churn propensity: the true
 * log-odds are a sum of monotone effects of some features; others are pure
 * noise, constant, or almost never present; some go missing at random.
 */

export interface Truth {
  key: string;
  /** +1: a higher raw value means more churn (lower is healthier); −1: the reverse; 0: no effect. */
  sign: 1 | -1 | 0;
}

export interface Portfolio {
  candidates: FitCandidate[];
  observations: FitObservation[];
  truth: Truth[];
  /** The best attainable log-odds given what is observed: missing terms replaced by their mean. */
  bestLogit: number[];
}

const candidate = (key: string, group: FitCandidate['group']): FitCandidate => ({ key, feature: key, label: key.replace(/_/g, ' '), group });

export function portfolio(n: number, seed: number): Portfolio {
  const random = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const poisson = (mean: number) => {
    const u = random();
    let k = 0;
    let p = Math.exp(-mean);
    let s = p;
    while (u > s) {
      k++;
      p *= mean / k;
      s += p;
    }
    return k;
  };
  // Each feature: draw, effect on the log-odds, mean effect (for the missing case), missing rate.
  const features: { key: string; group: FitCandidate['group']; sign: Truth['sign']; draw: () => number; effect: (x: number) => number; missing: number }[] = [
    { key: 'usage_trend', group: 'usage', sign: -1, draw: () => Math.round(normal() * 100) / 100, effect: (x) => -0.9 * x, missing: 0 },
    { key: 'days_inactive', group: 'usage', sign: 1, draw: () => Math.floor(-Math.log(1 - random()) * 12), effect: (x) => 0.6 * Math.log1p(x), missing: 0.1 },
    { key: 'tickets_90d', group: 'support', sign: 1, draw: () => poisson(1.5), effect: (x) => 0.35 * x, missing: 0 },
    { key: 'latest_nps', group: 'surveys', sign: -1, draw: () => Math.min(10, Math.max(0, Math.round(7 + 2.2 * normal()))), effect: (x) => -0.25 * (x - 7), missing: 0.4 },
    { key: 'payment_overdue', group: 'commercial', sign: 1, draw: () => (random() < 0.08 ? 1 : 0), effect: (x) => 1.2 * x, missing: 0 },
    { key: 'noise_continuous', group: 'usage', sign: 0, draw: () => normal(), effect: () => 0, missing: 0 },
    { key: 'noise_counts', group: 'support', sign: 0, draw: () => Math.floor(random() * 4), effect: () => 0, missing: 0.2 },
    { key: 'auto_renew_off', group: 'commercial', sign: 0, draw: () => 0, effect: () => 0, missing: 0 },
    { key: 'rare_source', group: 'surveys', sign: 0, draw: () => normal(), effect: () => 0, missing: 0.98 },
  ];
  // Mean effect of each feature, by simulation with its own generator (so the main stream is unaffected).
  const meanEffect = features.map((f) => {
    let s = 0;
    for (let i = 0; i < 20_000; i++) s += f.effect(f.draw());
    return s / 20_000;
  });
  const intercept = -1.3;
  const observations: FitObservation[] = [];
  const bestLogit: number[] = [];
  for (let i = 0; i < n; i++) {
    let trueLogit = intercept;
    let observedLogit = intercept;
    const raws = features.map((f, j) => {
      const x = f.draw();
      const e = f.effect(x);
      trueLogit += e;
      const missing = random() < f.missing;
      observedLogit += missing ? meanEffect[j]! : e;
      return missing ? null : x;
    });
    const churned = random() < sigmoid(trueLogit);
    const day = Math.floor(random() * 720);
    const outcomeDate = new Date(Date.UTC(2024, 0, 1) + day * 86_400_000).toISOString().slice(0, 10);
    observations.push({ raws, churned, outcomeDate });
    bestLogit.push(observedLogit);
  }
  return {
    candidates: features.map((f) => candidate(f.key, f.group)),
    observations,
    truth: features.map((f) => ({ key: f.key, sign: f.sign })),
    bestLogit,
  };
}

/**
 * A portfolio whose effects an additive monotone scorecard cannot express: a
 * risk that rises then falls with tenure (the first renewal is the cliff), and
 * an interaction (many tickets hurt only detractors). `tickets_per_seat` is
 * tickets again (one seat each): a near-duplicate.
 */
export function shapedPortfolio(n: number, seed: number): { candidates: FitCandidate[]; observations: FitObservation[]; trueLogit: number[] } {
  const random = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const candidates = [
    candidate('usage_trend', 'usage'),
    candidate('tenure_months', 'commercial'),
    candidate('tickets_90d', 'support'),
    candidate('tickets_per_seat', 'support'),
    candidate('latest_nps', 'surveys'),
    candidate('noise', 'usage'),
  ];
  const observations: FitObservation[] = [];
  const trueLogit: number[] = [];
  for (let i = 0; i < n; i++) {
    const trend = Math.round(normal() * 100) / 100;
    const tenure = Math.floor(random() * 60);
    const tickets = Math.min(6, Math.floor(-Math.log(1 - random()) * 1.5));
    const nps = Math.min(10, Math.max(0, Math.round(7 + 2.5 * normal())));
    const noise = Math.round(normal() * 100) / 100;
    const logit = -1.6 - 0.6 * trend + 2.2 * Math.exp(-(((tenure - 13) / 5) ** 2)) + 0.1 * tickets + (tickets >= 2 && nps <= 6 ? 2 : 0) - 0.1 * (nps - 7);
    const churned = random() < sigmoid(logit);
    const outcomeDate = new Date(Date.UTC(2024, 0, 1) + Math.floor(random() * 720) * 86_400_000).toISOString().slice(0, 10);
    observations.push({ raws: [trend, tenure, tickets, tickets, nps, noise], churned, outcomeDate });
    trueLogit.push(logit);
  }
  return { candidates, observations, trueLogit };
}
