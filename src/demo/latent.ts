import { DAY_MS, type Random, sigmoid } from './random.js';

/**
 * The demo's one hidden truth: each account has a latent health that moves
 * over time (a level, a drift, sometimes a shock such as a champion leaving),
 * and every signal and every renewal decision is drawn from it. So a score
 * that reads the signals well ranks the outcomes well, as in a real business.
 *
 * A few effects run against what a default scorecard assumes, as real
 * businesses' do:
 *  - rise-then-fall: heavy usage per user is not always good. Churn risk is
 *    U-shaped in usage intensity (power users on few seats build their own
 *    tool or outgrow the plan), so "more active days is better" holds only up
 *    to a point;
 *  - an interaction: many support tickets are a warning only where adoption
 *    is low; where people use the product, tickets mean engagement and go
 *    with renewal;
 * and the rest agrees with the default: falling usage, detractors, first
 * renewals, auto-renew off and short terms go with churn.
 */
export interface Latent {
  /** Health at the window's start, standard normal. */
  level: number;
  /** Change in health per year. */
  drift: number;
  /** When a shock hits (ms), and how far it drops health. */
  shockAt: number | null;
  shock: number;
  /** Usage per active user, standard normal (log scale). */
  intensity: number;
  /** Readiness to open tickets, standard normal (log scale). */
  ticketing: number;
}

export function drawLatent(rng: Random, windowStart: number, windowDays: number): Latent {
  const shocked = rng.chance(0.3);
  return {
    level: rng.normal(),
    drift: rng.normal(0, 0.45),
    shockAt: shocked ? windowStart + rng.int(30, windowDays - 10) * DAY_MS : null,
    shock: shocked ? rng.between(0.8, 1.8) : 0,
    intensity: rng.normal(),
    ticketing: rng.normal(),
  };
}

/** The latent health on a day: about standard normal; below zero is trouble. */
export function healthAt(l: Latent, day: number, windowStart: number): number {
  const years = (day - windowStart) / (365 * DAY_MS);
  return l.level + l.drift * years - (l.shockAt !== null && day >= l.shockAt ? l.shock : 0);
}

/** How a renewal goes; `health` is read 60 days before it, when the customer makes up its mind. */
export interface RenewalContext {
  health: number;
  firstRenewal: boolean;
  autoRenew: boolean;
  termMonths: number;
}

/** Log-odds of churning at a renewal. */
export function churnLogit(l: Latent, r: RenewalContext): number {
  const riseThenFall = 1.0 * (l.intensity * l.intensity - 1);
  const ticketsByAdoption = -0.75 * l.ticketing * Math.tanh(1.5 * r.health);
  return (
    -1.1 -
    2.0 * r.health +
    riseThenFall +
    ticketsByAdoption +
    (r.firstRenewal ? 0.45 : 0) +
    (r.autoRenew ? -0.6 : 0) +
    (r.termMonths >= 24 ? -0.5 : 0)
  );
}

export const churnProbability = (l: Latent, r: RenewalContext) => sigmoid(churnLogit(l, r));
