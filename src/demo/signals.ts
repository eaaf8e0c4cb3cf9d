import type { SurveyResponse, Ticket, UsageEvent } from '../signals/schemas.js';
import { healthAt } from './latent.js';
import { DEMO_DAYS, type Profile } from './portfolio.js';
import { clamp, DAY_MS, iso, isoDay, Random, sigmoid } from './random.js';
import { METRICS, NPS_COMMENTS, SEGMENTS, TICKET_SUBJECTS } from './vocabulary.js';

/** Relative activity by weekday, Sunday first. */
const WEEKDAY = [0.15, 1, 1, 0.97, 0.95, 0.85, 0.12];
const CORE_METRICS = ['login', 'report.viewed'] as const;

/** A business-hours instant on `day` (UTC midnight) in the account's zone. */
const businessHours = (rng: Random, day: number, utcOffset: number) =>
  day + (clamp(rng.normal(13, 2.6), 7, 21) - utcOffset) * 3600_000 + rng.int(0, 3599) * 1000;

/** How much of its normal self the customer is on a day: ramping up after it starts, fading out once it has decided to leave. */
function presence(p: Profile, day: number): number {
  if (day < p.activeFrom || day > p.activeUntil) return 0;
  const ramp = p.joined ? clamp(0.3 + (day - p.activeFrom) / (45 * DAY_MS), 0, 1) : 1;
  const fade = Number.isFinite(p.activeUntil) ? clamp((p.activeUntil - day) / (45 * DAY_MS), 0.05, 1) : 1;
  return ramp * fade;
}

/**
 * Usage: on a day the account is active with a chance that rises with its
 * health; healthier accounts have more people active and use more of the
 * product; how much each person does is the account's own intensity.
 */
export function* usageEvents(p: Profile, seed: number, asOf: number): Generator<UsageEvent> {
  const rng = new Random(`${seed}/${p.index}/usage`);
  const seg = SEGMENTS[p.segment];
  for (let d = 0; d < DEMO_DAYS; d++) {
    const day = p.windowStart + d * DAY_MS;
    const level = presence(p, day);
    if (level === 0) continue;
    const h = healthAt(p.latent, day, p.windowStart);
    if (!rng.chance(sigmoid(0.9 + 1.2 * h + 1.2 * p.latent.intensity) * WEEKDAY[new Date(day).getUTCDay()]! * Math.sqrt(level))) continue;
    const count = 1 + rng.poisson(seg.eventsPerDay * Math.exp(0.45 * p.latent.intensity + 0.25 * h) * level);
    const pool = Math.max(1, Math.round(p.users.length * sigmoid(0.2 + 1.3 * h + 0.6 * p.latent.intensity) * level));
    const wide = sigmoid(0.3 + 1.3 * h + 0.8 * p.latent.intensity);
    const stamp = isoDay(day).replaceAll('-', '');
    for (let k = 0; k < count; k++) {
      const metric = rng.chance(wide) ? rng.weighted(METRICS) : rng.pick(CORE_METRICS);
      yield {
        eventId: `ev-${stamp}-${k + 1}`,
        account: p.input.externalId,
        occurredAt: iso(Math.min(businessHours(rng, day, p.utcOffset), asOf - 1000)),
        metric,
        quantity: metric === 'api.call' ? rng.int(10, 500) : 1,
        userId: p.users[Math.floor(pool * rng.next() ** 1.6)]!,
      };
    }
  }
}

const SLA_HOURS = { urgent: 1, high: 4, normal: 24, low: 48 } as const;
const RESOLVE_HOURS = { urgent: [2, 24], high: [4, 72], normal: [8, 120], low: [24, 240] } as const;

/** Tickets (their rate is the account's readiness to ask, and its engagement), post-ticket CSAT and CES, and quarterly NPS waves. */
export function ticketsAndSurveys(p: Profile, seed: number, asOf: number): { tickets: Ticket[]; surveys: SurveyResponse[] } {
  const rng = new Random(`${seed}/${p.index}/tickets`);
  const seg = SEGMENTS[p.segment];
  const tickets: Ticket[] = [];
  const surveys: SurveyResponse[] = [];
  const num = String(p.index + 1).padStart(4, '0');
  const last = Math.min(asOf - DAY_MS, p.activeUntil);
  const wellness = (day: number) => sigmoid(1.3 * healthAt(p.latent, day, p.windowStart));

  for (let day = p.activeFrom; day <= last; day += DAY_MS) {
    const h = healthAt(p.latent, day, p.windowStart);
    // People who use the product ask about it: tickets come from engaged accounts more than from quiet ones.
    const rate = (seg.ticketsPerYear / 365) * Math.exp(0.6 * p.latent.ticketing + 1.1 * h) * presence(p, day);
    if (!rng.chance(rate)) continue;
    const unhealthy = 1 - wellness(day);
    const priority = rng.weighted({ low: 20, normal: 50, high: 18 + 15 * unhealthy, urgent: 4 + 10 * unhealthy });
    const openedAt = Math.min(businessHours(rng, day, p.utcOffset), asOf - 2 * 3600_000);
    const slow = rng.chance(0.5 * unhealthy) ? rng.between(1.2, 3) : 1;
    const respondAfter = SLA_HOURS[priority] * rng.between(0.1, 1.1) * slow * 3600_000;
    const firstResponse = openedAt + respondAfter;
    const [rmin, rmax] = RESOLVE_HOURS[priority];
    const reopenCount = rng.chance(0.06 + 0.2 * unhealthy) ? (rng.chance(0.25) ? 2 : 1) : 0;
    const solved = firstResponse + rng.between(rmin, rmax) * slow * (1 + reopenCount) * 3600_000;
    // Unhealthy accounts keep a backlog of stuck tickets.
    const stuck = rng.chance(0.03 + 0.1 * unhealthy) && asOf - openedAt < 60 * DAY_MS;
    const isSolved = !stuck && solved < asOf - 3600_000;
    const responded = firstResponse < asOf - 60_000;
    const status: Ticket['status'] = isSolved ? (asOf - solved > 14 * DAY_MS && rng.chance(0.6) ? 'closed' : 'solved') : !responded ? 'new' : rng.chance(0.35) ? 'pending' : 'open';
    const satisfaction = isSolved && rng.chance(0.45) ? (rng.chance(0.35 + 0.6 * (1 - unhealthy)) ? 'good' : 'bad') : null;
    const lastChange = Math.min(asOf - 60_000, Math.max(openedAt, responded ? firstResponse : openedAt, isSolved ? solved : openedAt) + rng.int(0, 3600) * 1000);
    const ticketId = `T-${num}-${String(tickets.length + 1).padStart(3, '0')}`;
    tickets.push({
      ticketId,
      account: p.input.externalId,
      subject: rng.pick(TICKET_SUBJECTS),
      status,
      priority,
      kind: rng.chance(0.03 + 0.15 * unhealthy) ? 'complaint' : 'question',
      openedAt: iso(openedAt),
      firstResponseAt: responded ? iso(firstResponse) : null,
      solvedAt: isSolved ? iso(solved) : null,
      reopenCount,
      escalated: rng.chance(0.01 + (priority === 'urgent' || priority === 'high' ? 0.2 : 0.03) * unhealthy),
      slaBreached: respondAfter > SLA_HOURS[priority] * 3600_000,
      satisfaction,
      updatedAt: iso(lastChange),
    });

    // Post-ticket surveys: CSAT often, CES sometimes.
    if (isSolved && solved + 2 * 3600_000 < asOf) {
      const respondedAt = iso(Math.min(asOf - 60_000, solved + rng.between(1, 48) * 3600_000));
      const respondent = rng.pick(p.users);
      if (rng.chance(0.4)) {
        const score = satisfaction === 'good' ? rng.int(4, 5) : satisfaction === 'bad' ? rng.int(1, 2) : Math.round(clamp(rng.normal(1.5 + 3.3 * (1 - unhealthy), 0.8), 1, 5));
        surveys.push({ responseId: `csat-${ticketId}`, account: p.input.externalId, kind: 'csat', score, comment: null, respondent, respondedAt });
      }
      if (rng.chance(0.2)) {
        const score = Math.round(clamp(rng.normal(2.5 + 4 * (1 - unhealthy), 1.1), 1, 7));
        surveys.push({ responseId: `ces-${ticketId}`, account: p.input.externalId, kind: 'ces', score, comment: null, respondent, respondedAt });
      }
    }
  }

  // NPS waves every quarter, to a few contacts.
  const contacts = p.segment === 'enterprise' ? 5 : p.segment === 'mid-market' ? 3 : 2;
  for (let wave = p.windowStart + 30 * DAY_MS; wave < asOf - 7 * DAY_MS; wave += 91 * DAY_MS) {
    if (wave < p.activeFrom + 30 * DAY_MS || wave > p.activeUntil) continue;
    for (let c = 0; c < contacts; c++) {
      if (!rng.chance(0.5)) continue;
      const score = Math.round(clamp(rng.normal(1.5 + 8.5 * wellness(wave), 1.5), 0, 10));
      const band = score >= 9 ? 'promoter' : score >= 7 ? 'passive' : 'detractor';
      surveys.push({
        responseId: `nps-${isoDay(wave)}-${c + 1}`,
        account: p.input.externalId,
        kind: 'nps',
        score,
        comment: rng.chance(0.45) ? rng.pick(NPS_COMMENTS[band]) : null,
        respondent: p.users[c % p.users.length]!,
        respondedAt: iso(Math.min(asOf - 60_000, businessHours(rng, wave + rng.int(0, 6) * DAY_MS, p.utcOffset))),
      });
    }
  }
  return { tickets, surveys };
}
