import { mulberry32 } from '../scoring/learn/folds.js';
import type { Kysely } from 'kysely';
import { upsertAccounts } from '../accounts/repository.js';
import type { AccountInput, UpsertOutcome } from '../accounts/schemas.js';
import type { Database } from '../db/schema.js';
import { type BatchResult, ingestBatch, type SignalName, SIGNALS } from '../signals/ingest.js';
import type { Contract, ItemOutcome, SurveyResponse, Ticket, UsageEvent } from '../signals/schemas.js';
import { MAX_SIGNAL_BATCH } from '../signals/schemas.js';

/**
 * A generated, realistic portfolio for demos and local development: accounts
 * across segments, 180 days of usage with trends, tickets, survey answers
 * and contracts with their renewal history. Everything is derived from the
 * seed, the account's number and the as-of day, so a re-run writes nothing
 * new; it all goes through upsertAccounts and ingestBatch like real data.
 */

export const DEMO_DAYS = 180;
const DAY_MS = 86_400_000;

// ---------------------------------------------------------------- randomness


/** FNV-1a: turns a string key into a 32-bit seed. */
function hash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

class Random {
  readonly next: () => number;
  constructor(key: string) {
    this.next = mulberry32(hash(key));
  }
  between(min: number, max: number) {
    return min + (max - min) * this.next();
  }
  int(min: number, max: number) {
    return Math.floor(this.between(min, max + 1));
  }
  chance(p: number) {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  weighted<T extends string>(weights: Record<T, number>): T {
    const entries = Object.entries(weights) as [T, number][];
    let r = this.next() * entries.reduce((sum, [, w]) => sum + w, 0);
    for (const [value, w] of entries) {
      r -= w;
      if (r < 0) return value;
    }
    return entries.at(-1)![0];
  }
  normal(mean: number, sd: number) {
    const u = 1 - this.next();
    const v = this.next();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  poisson(lambda: number) {
    if (lambda <= 0) return 0;
    if (lambda > 30) return Math.max(0, Math.round(this.normal(lambda, Math.sqrt(lambda))));
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k += 1;
      p *= this.next();
    }
    return k;
  }
}

const clamp = (v: number, min: number, max: number) => Math.min(max, Math.max(min, v));
export const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const iso = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString();

// ---------------------------------------------------------------- vocabulary

const COMPANY_A = [
  'Northwind', 'Contoso', 'Globex', 'Initech', 'Umbrella', 'Stark', 'Wayne', 'Acme', 'Hooli', 'Vandelay',
  'Soylent', 'Tyrell', 'Cyberdyne', 'Aperture', 'Wonka', 'Oceanic', 'Dunder', 'Massive', 'Blue Sun', 'Monarch',
  'Nakatomi', 'Oscorp', 'Prestige', 'Sterling', 'Virtucon', 'Bluth', 'Gekko', 'Duff', 'Ollivander', 'Pendant',
  'Halcyon', 'Juniper', 'Kestrel', 'Lumen', 'Meridian', 'Nimbus', 'Orchid', 'Pinnacle', 'Quill', 'Redwood',
] as const;
const COMPANY_B = [
  ['Logistics', 'logistics'], ['Health', 'healthcare'], ['Labs', 'research'], ['Foods', 'food & beverage'],
  ['Capital', 'financial services'], ['Systems', 'software'], ['Retail', 'retail'], ['Media', 'media'],
  ['Energy', 'energy'], ['Robotics', 'manufacturing'], ['Analytics', 'software'], ['Travel', 'travel'],
  ['Insurance', 'insurance'], ['Learning', 'education'], ['Manufacturing', 'manufacturing'], ['Biotech', 'life sciences'],
  ['Telecom', 'telecommunications'], ['Realty', 'real estate'], ['Consulting', 'professional services'], ['Freight', 'logistics'],
] as const;
const FIRST = ['ana', 'ben', 'chloe', 'dev', 'emma', 'felix', 'grace', 'hugo', 'ines', 'jon', 'kira', 'leo', 'mia', 'nils', 'olga', 'paul', 'rosa', 'sven', 'tara', 'yusuf'];
const LAST = ['adams', 'berg', 'costa', 'diaz', 'evans', 'fischer', 'garcia', 'hughes', 'ito', 'jensen', 'khan', 'lopez', 'meyer', 'nowak', 'obi', 'perez', 'rossi', 'sato', 'weber', 'young'];

const SEGMENTS = {
  enterprise: {
    weight: 15, tiers: { platinum: 1, gold: 1 }, seats: [200, 2000], pricePerSeat: [380, 650], terms: [12, 24, 36],
    owners: ['dana.kim@example.com', 'li.wei@example.com'], usersCap: 60, eventsPerDay: 14, ticketsPer180d: 14, autoRenew: 0.1,
  },
  'mid-market': {
    weight: 35, tiers: { gold: 2, silver: 3 }, seats: [40, 300], pricePerSeat: [300, 480], terms: [12, 12, 24],
    owners: ['sam.okafor@example.com', 'maria.garcia@example.com'], usersCap: 25, eventsPerDay: 6, ticketsPer180d: 7, autoRenew: 0.4,
  },
  smb: {
    weight: 50, tiers: { silver: 3, bronze: 7 }, seats: [5, 50], pricePerSeat: [200, 340], terms: [12],
    owners: ['alex.novak@example.com', 'priya.shah@example.com'], usersCap: 8, eventsPerDay: 2.5, ticketsPer180d: 3, autoRenew: 0.7,
  },
} as const;
type Segment = keyof typeof SEGMENTS;

const RETENTION_OWNERS = ['jordan.lee@example.com', 'fatima.haddad@example.com', 'noah.schmidt@example.com'];

/** Region: currency, an approximate rate from USD, time zones and their usual UTC offsets. */
const REGIONS = {
  us: { weight: 45, currency: 'USD', fx: 1, zones: [['America/New_York', -5], ['America/Chicago', -6], ['America/Denver', -7], ['America/Los_Angeles', -8]] },
  ca: { weight: 5, currency: 'CAD', fx: 1.36, zones: [['America/Toronto', -5], ['America/Vancouver', -8]] },
  eu: { weight: 25, currency: 'EUR', fx: 0.92, zones: [['Europe/Berlin', 1], ['Europe/Paris', 1], ['Europe/Amsterdam', 1], ['Europe/Madrid', 1]] },
  uk: { weight: 12, currency: 'GBP', fx: 0.79, zones: [['Europe/London', 0]] },
  au: { weight: 8, currency: 'AUD', fx: 1.52, zones: [['Australia/Sydney', 10]] },
  sg: { weight: 5, currency: 'SGD', fx: 1.34, zones: [['Asia/Singapore', 8]] },
} as const;

/** How usage moves over the window; also sets the account's underlying health. */
const TRENDS = {
  growing: { weight: 20, health: 0.85 },
  flat: { weight: 38, health: 0.65 },
  declining: { weight: 15, health: 0.4 },
  'sharp-drop': { weight: 12, health: 0.2 },
  churned: { weight: 5, health: 0.08 },
  onboarding: { weight: 10, health: 0.6 },
} as const;
type Trend = keyof typeof TRENDS;

const METRICS = {
  login: 34,
  'report.viewed': 24,
  'dashboard.viewed': 14,
  'report.exported': 9,
  'api.call': 10,
  'integration.synced': 6,
  'user.invited': 3,
} as const;

const TICKET_SUBJECTS = [
  'Cannot export report to CSV', 'SSO login fails for new users', 'Dashboard loads slowly', 'Invoice shows wrong seat count',
  'API rate limit reached', 'Integration sync stopped', 'How do I add a custom field?', 'Data missing since yesterday',
  'Request: bulk user import', 'Password reset email not arriving', 'Permissions for a read-only role', 'Webhook deliveries failing',
  'Billing contact change', 'Scheduled report not sent', 'Mobile app crashes on launch', 'Question about data retention',
];
const NPS_COMMENTS = {
  promoter: ['Great product, the team relies on it daily.', 'Support is fast and helpful.', 'Reports save us hours every week.', 'Easy to roll out to new teams.'],
  passive: ['Does the job, a few rough edges.', 'Good, but the UI could be simpler.', 'Pricing is getting hard to justify.', 'Solid, waiting for better integrations.'],
  detractor: ['Too many outages lately.', 'We barely use it any more.', 'Support takes days to answer.', 'Missing features we were promised.', 'Evaluating alternatives.'],
};

// ---------------------------------------------------------------- the portfolio

interface Profile {
  index: number;
  input: AccountInput;
  segment: Segment;
  trend: Trend;
  health: number;
  /** UTC offset in hours, for business-hours timestamps. */
  utcOffset: number;
  domain: string;
  /** Day (ms) usage starts: the customer's start, or the window start. */
  activeFrom: number;
  /** Day (ms) usage ends: churn date, or never. */
  activeUntil: number;
  /** For sharp drops: fraction of the window where usage falls. */
  dropAt: number;
  users: string[];
  contracts: Contract[];
}

const SLUG = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '');

function companyNames(seed: number): string[] {
  const names = COMPANY_A.flatMap((a) => COMPANY_B.map(([b]) => `${a} ${b}`));
  const rng = new Random(`${seed}/names`);
  for (let i = names.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [names[i], names[j]] = [names[j]!, names[i]!];
  }
  return names;
}

function addMonths(ms: number, months: number) {
  const d = new Date(ms);
  d.setUTCMonth(d.getUTCMonth() + months);
  return d.getTime();
}

function profile(seed: number, index: number, names: string[], asOf: number): Profile {
  const rng = new Random(`${seed}/${index}/account`);
  const segment = rng.weighted(Object.fromEntries(Object.entries(SEGMENTS).map(([k, v]) => [k, v.weight])) as Record<Segment, number>);
  const seg = SEGMENTS[segment];
  const trend = rng.weighted(Object.fromEntries(Object.entries(TRENDS).map(([k, v]) => [k, v.weight])) as Record<Trend, number>);
  const health = clamp(TRENDS[trend].health + rng.normal(0, 0.08), 0.02, 0.98);
  const regionKey = rng.weighted(Object.fromEntries(Object.entries(REGIONS).map(([k, v]) => [k, v.weight])) as Record<keyof typeof REGIONS, number>);
  const region = REGIONS[regionKey];
  const zones: readonly (readonly [string, number])[] = region.zones;
  const [timezone, utcOffset] = rng.pick(zones);

  const base = names[index % names.length]!;
  const name = index < names.length ? base : `${base} ${Math.floor(index / names.length) + 1}`;
  const suffix = name.split(' ').find((w) => COMPANY_B.some(([b]) => b === w));
  const industry = COMPANY_B.find(([b]) => b === suffix)?.[1] ?? 'software';
  const domain = `${SLUG(name)}.example`;

  const seats = rng.int(seg.seats[0], seg.seats[1]);
  const arrUsd = seats * rng.between(seg.pricePerSeat[0], seg.pricePerSeat[1]);
  const arr = Math.round((arrUsd * region.fx) / 100) * 100;
  const termMonths = rng.pick(seg.terms);
  const windowStart = asOf - DEMO_DAYS * DAY_MS;

  // Contracts: the current term around as-of, earlier terms back to the start.
  const customerFor = trend === 'onboarding' ? rng.int(20, 150) : rng.int(240, 1600);
  const since = asOf - customerFor * DAY_MS;
  let currentStart: number;
  let currentEnd: number;
  if (trend === 'onboarding') {
    currentStart = since;
    currentEnd = addMonths(since, termMonths) - DAY_MS;
  } else if (trend === 'churned') {
    currentEnd = asOf - rng.int(5, 70) * DAY_MS;
    currentStart = addMonths(currentEnd + DAY_MS, -termMonths);
  } else {
    currentEnd = asOf + rng.int(1, termMonths * 30) * DAY_MS;
    currentStart = addMonths(currentEnd + DAY_MS, -termMonths);
  }
  const autoRenew = trend !== 'churned' && rng.chance(seg.autoRenew);
  const overdue = trend !== 'churned' && rng.chance(0.03 + 0.18 * (1 - health));
  const current: Contract = {
    contractId: '',
    account: '',
    startDate: isoDay(currentStart),
    endDate: isoDay(currentEnd),
    arr,
    currency: region.currency,
    seats,
    autoRenew,
    status: trend === 'churned' ? 'churned' : 'active',
    paymentStatus: overdue ? 'overdue' : 'current',
  };
  const terms: Contract[] = [current];
  let start = currentStart;
  let nextArr = arr;
  let nextSeats = seats;
  while (terms.length < 5 && addMonths(start, -termMonths) >= since) {
    const end = start - DAY_MS;
    start = addMonths(start, -termMonths);
    // How the renewal at the end of this earlier term went.
    const downgraded = rng.chance(trend === 'declining' || trend === 'sharp-drop' ? 0.3 : 0.08);
    const factor = downgraded ? rng.between(1.1, 1.5) : rng.between(0.8, 1.0);
    nextArr = Math.round((nextArr * factor) / 100) * 100;
    nextSeats = Math.max(1, Math.round(nextSeats * factor));
    terms.push({
      contractId: '',
      account: '',
      startDate: isoDay(start),
      endDate: isoDay(end),
      arr: nextArr,
      currency: region.currency,
      seats: nextSeats,
      autoRenew,
      status: downgraded ? 'downgraded' : 'renewed',
      paymentStatus: 'current',
    });
  }
  const externalId = `demo-${seed}-${String(index + 1).padStart(4, '0')}`;
  terms.reverse().forEach((c, n) => {
    c.account = externalId;
    c.contractId = `C-${String(index + 1).padStart(4, '0')}-${n + 1}`;
  });
  // A few accounts tried an add-on and cancelled it.
  if (trend !== 'onboarding' && rng.chance(0.06)) {
    const addOnStart = Math.max(since, currentStart);
    terms.push({
      contractId: `C-${String(index + 1).padStart(4, '0')}-addon`,
      account: externalId,
      startDate: isoDay(addOnStart),
      endDate: isoDay(Math.max(addOnStart, Math.min(currentEnd, asOf - rng.int(1, 60) * DAY_MS))),
      arr: Math.round(arr * 0.1 / 100) * 100,
      currency: region.currency,
      seats: null,
      autoRenew: false,
      status: 'cancelled',
      paymentStatus: 'current',
    });
  }

  const daysToRenewal = (currentEnd - asOf) / DAY_MS;
  const lifecycleStage =
    trend === 'churned' ? 'churned' : trend === 'onboarding' ? 'onboarding' : daysToRenewal <= 90 ? 'renewal' : trend === 'growing' ? 'expansion' : 'adoption';
  const userCount = Math.max(2, Math.min(seats, Math.round(seg.usersCap * rng.between(0.6, 1.2))));
  const rotate = rng.int(0, FIRST.length * LAST.length - 1);
  const users = Array.from({ length: userCount }, (_, j) => {
    const k = (j + rotate) % (FIRST.length * LAST.length);
    return `${FIRST[k % FIRST.length]}.${LAST[Math.floor(k / FIRST.length)]}@${domain}`;
  });

  return {
    index,
    segment,
    trend,
    health,
    utcOffset,
    domain,
    activeFrom: Math.max(windowStart, since),
    activeUntil: trend === 'churned' ? currentEnd : Number.POSITIVE_INFINITY,
    dropAt: rng.between(0.55, 0.85),
    users,
    contracts: terms,
    input: {
      externalId,
      name,
      segment,
      tier: rng.weighted(seg.tiers as Record<string, number>),
      owner: rng.pick(seg.owners),
      retentionOwner: RETENTION_OWNERS[index % RETENTION_OWNERS.length]!,
      seats,
      arr,
      currency: region.currency,
      timezone,
      lifecycleStage,
      renewalDate: current.endDate,
      attributes: { industry, region: regionKey, demo: true, customerSince: isoDay(since) },
    },
  };
}

/** Usage level on a day, relative to the account's normal, from its trend. */
function trendLevel(p: Profile, day: number, windowStart: number): number {
  if (day < p.activeFrom || day > p.activeUntil) return 0;
  const t = (day - windowStart) / (DEMO_DAYS * DAY_MS);
  switch (p.trend) {
    case 'growing':
      return 0.5 + 0.9 * t;
    case 'flat':
      return 1;
    case 'declining':
      return 1.15 - 0.65 * t;
    case 'sharp-drop': {
      const after = (t - p.dropAt) * DEMO_DAYS; // days since the drop began
      return after <= 0 ? 1 : after >= 10 ? 0.12 : 1 - 0.088 * after;
    }
    case 'churned': {
      const left = (p.activeUntil - day) / DAY_MS; // days until the contract ended
      return clamp(left / 120, 0, 0.9);
    }
    case 'onboarding': {
      const since = (day - p.activeFrom) / DAY_MS;
      return clamp(0.25 + since / 45, 0, 1.2);
    }
  }
}

const WEEKDAY = [0.2, 1.05, 1.05, 1.0, 1.0, 0.85, 0.15]; // Sunday first

/** A business-hours instant on `day` (UTC midnight) in the account's zone. */
const businessHours = (rng: Random, day: number, utcOffset: number) =>
  day + (clamp(rng.normal(13, 2.6), 7, 21) - utcOffset) * 3600_000 + rng.int(0, 3599) * 1000;

function* usageEvents(p: Profile, seed: number, asOf: number): Generator<UsageEvent> {
  const rng = new Random(`${seed}/${p.index}/usage`);
  const seg = SEGMENTS[p.segment];
  const windowStart = asOf - DEMO_DAYS * DAY_MS;
  for (let d = 0; d < DEMO_DAYS; d++) {
    const day = windowStart + d * DAY_MS;
    const level = trendLevel(p, day, windowStart);
    const noise = rng.between(0.7, 1.3);
    const count = level === 0 ? 0 : rng.poisson(seg.eventsPerDay * level * WEEKDAY[new Date(day).getUTCDay()]! * noise);
    // Fewer people show up as usage falls; a few power users do most of it.
    const active = Math.max(1, Math.round(p.users.length * clamp(0.25 + 0.75 * level, 0.05, 1)));
    const stamp = isoDay(day).replaceAll('-', '');
    for (let k = 0; k < count; k++) {
      const metric = rng.weighted(METRICS);
      yield {
        eventId: `ev-${stamp}-${k + 1}`,
        account: p.input.externalId,
        occurredAt: iso(Math.min(businessHours(rng, day, p.utcOffset), asOf - 1000)),
        metric,
        quantity: metric === 'api.call' ? rng.int(10, 500) : 1,
        userId: p.users[Math.floor(active * rng.next() ** 1.6)]!,
      };
    }
  }
}

const SLA_HOURS = { urgent: 1, high: 4, normal: 24, low: 48 } as const;
const RESOLVE_HOURS = { urgent: [2, 24], high: [4, 72], normal: [8, 120], low: [24, 240] } as const;

function ticketsAndSurveys(p: Profile, seed: number, asOf: number): { tickets: Ticket[]; surveys: SurveyResponse[] } {
  const rng = new Random(`${seed}/${p.index}/tickets`);
  const seg = SEGMENTS[p.segment];
  const unhealthy = 1 - p.health;
  const tickets: Ticket[] = [];
  const surveys: SurveyResponse[] = [];
  const from = p.activeFrom;
  const until = Math.min(asOf, p.activeUntil + 14 * DAY_MS);
  const span = until - from;
  const count = span <= 0 ? 0 : rng.poisson(seg.ticketsPer180d * (0.6 + 1.4 * unhealthy) * (span / (DEMO_DAYS * DAY_MS)));
  const openings = Array.from({ length: count }, () => from + Math.floor(rng.next() * (span / DAY_MS)) * DAY_MS).sort((a, b) => a - b);
  const num = String(p.index + 1).padStart(4, '0');

  openings.forEach((day, n) => {
    const priority = rng.weighted({ low: 20, normal: 50, high: 18 + 15 * unhealthy, urgent: 4 + 10 * unhealthy });
    const openedAt = businessHours(rng, day, p.utcOffset);
    const slow = rng.chance(0.5 * unhealthy) ? rng.between(1.2, 3) : 1;
    const respondAfter = SLA_HOURS[priority] * rng.between(0.1, 1.1) * slow * 3600_000;
    const firstResponse = openedAt + respondAfter;
    const [rmin, rmax] = RESOLVE_HOURS[priority];
    const reopenCount = rng.chance(0.06 + 0.2 * unhealthy) ? (rng.chance(0.25) ? 2 : 1) : 0;
    const solved = firstResponse + rng.between(rmin, rmax) * slow * (1 + reopenCount) * 3600_000;
    // Unhealthy accounts keep a backlog of stuck tickets.
    const stuck = rng.chance(0.04 + 0.12 * unhealthy);
    const isSolved = !stuck && solved < asOf - 3600_000;
    const responded = firstResponse < asOf - 60_000;
    const status: Ticket['status'] = isSolved ? (asOf - solved > 14 * DAY_MS && rng.chance(0.6) ? 'closed' : 'solved') : !responded ? 'new' : rng.chance(0.35) ? 'pending' : 'open';
    const satisfaction = isSolved && rng.chance(0.45) ? (rng.chance(0.35 + 0.6 * p.health) ? 'good' : 'bad') : null;
    const lastChange = Math.min(asOf - 60_000, Math.max(openedAt, responded ? firstResponse : openedAt, isSolved ? solved : openedAt) + rng.int(0, 3600) * 1000);
    const ticketId = `T-${num}-${String(n + 1).padStart(3, '0')}`;
    tickets.push({
      ticketId,
      account: p.input.externalId,
      subject: rng.pick(TICKET_SUBJECTS),
      status,
      priority,
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
        const score = satisfaction === 'good' ? rng.int(4, 5) : satisfaction === 'bad' ? rng.int(1, 2) : Math.round(clamp(rng.normal(1.5 + 3.3 * p.health, 0.8), 1, 5));
        surveys.push({ responseId: `csat-${ticketId}`, account: p.input.externalId, kind: 'csat', score, comment: null, respondent, respondedAt });
      }
      if (rng.chance(0.2)) {
        const score = Math.round(clamp(rng.normal(2.5 + 4 * p.health, 1.1), 1, 7));
        surveys.push({ responseId: `ces-${ticketId}`, account: p.input.externalId, kind: 'ces', score, comment: null, respondent, respondedAt });
      }
    }
  });

  // NPS waves, about every quarter, to a few contacts.
  const contacts = p.segment === 'enterprise' ? 5 : p.segment === 'mid-market' ? 3 : 2;
  for (const waveDay of [20, 110]) {
    const wave = asOf - (DEMO_DAYS - waveDay) * DAY_MS;
    if (wave < p.activeFrom + 14 * DAY_MS || wave > p.activeUntil) continue;
    for (let c = 0; c < contacts; c++) {
      if (!rng.chance(0.55)) continue;
      const drift = p.trend === 'sharp-drop' || p.trend === 'declining' ? (waveDay / DEMO_DAYS) * -2 : 0;
      const score = Math.round(clamp(rng.normal(2.5 + 7.5 * p.health + drift, 1.6), 0, 10));
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

// ---------------------------------------------------------------- writing

export type Counts = Record<ItemOutcome, number>;

export interface DemoOptions {
  accounts?: number;
  seed?: number;
  /** The day the data ends (exclusive), YYYY-MM-DD; default today (UTC). */
  asOf?: string;
  batchSize?: number;
  onProgress?(kind: SignalName | 'accounts', counts: Counts): void;
}

export interface DemoResult {
  asOf: string;
  accounts: Record<UpsertOutcome, number>;
  signals: Record<Exclude<SignalName, 'outcomes'>, Counts>;
  /** The first few items refused (should be none: a bug in the generator). */
  errors: string[];
}

const emptyCounts = (): Counts => ({ created: 0, updated: 0, unchanged: 0, stale: 0, error: 0 });

/** Batches items of one kind into ingestBatch calls. */
class Sink {
  private items: unknown[] = [];
  readonly counts = emptyCounts();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly kind: SignalName,
    private readonly batchSize: number,
    private readonly errors: string[],
    private readonly onProgress?: DemoOptions['onProgress'],
  ) {}

  async add(item: unknown) {
    this.items.push(item);
    if (this.items.length >= this.batchSize) await this.flush();
  }

  async flush() {
    if (this.items.length === 0) return;
    const items = this.items;
    this.items = [];
    const result: BatchResult = await ingestBatch(this.db, SIGNALS[this.kind] as (typeof SIGNALS)['usage'], items);
    for (const [k, v] of Object.entries(result.summary)) this.counts[k as ItemOutcome] += v;
    for (const r of result.results) {
      if (r.result === 'error' && this.errors.length < 10) this.errors.push(`${this.kind} ${r.id}: ${r.errors?.map((e) => `${e.field} ${e.message}`).join('; ')}`);
    }
    this.onProgress?.(this.kind, { ...this.counts });
  }
}

export const DEFAULT_DEMO_ACCOUNTS = 300;

export async function generateDemo(db: Kysely<Database>, options: DemoOptions = {}): Promise<DemoResult> {
  const n = options.accounts ?? DEFAULT_DEMO_ACCOUNTS;
  const seed = options.seed ?? 1;
  const asOfDay = options.asOf ?? isoDay(Date.now());
  const asOf = Date.parse(`${asOfDay}T00:00:00Z`);
  const batchSize = options.batchSize ?? MAX_SIGNAL_BATCH;
  const names = companyNames(seed);
  const profiles = Array.from({ length: n }, (_, i) => profile(seed, i, names, asOf));
  const errors: string[] = [];

  const accounts: Record<UpsertOutcome, number> = { created: 0, updated: 0, unchanged: 0 };
  for (let i = 0; i < profiles.length; i += 1000) {
    const outcomes = await upsertAccounts(db, profiles.slice(i, i + 1000).map((p) => p.input));
    for (const o of outcomes.values()) accounts[o] += 1;
  }
  options.onProgress?.('accounts', { ...emptyCounts(), ...accounts });

  const sink = (kind: SignalName) => new Sink(db, kind, batchSize, errors, options.onProgress);
  const contracts = sink('contracts');
  for (const p of profiles) for (const c of p.contracts) await contracts.add(c);
  await contracts.flush();

  const tickets = sink('tickets');
  const surveys = sink('surveys');
  for (const p of profiles) {
    const generated = ticketsAndSurveys(p, seed, asOf);
    for (const t of generated.tickets) await tickets.add(t);
    for (const s of generated.surveys) await surveys.add(s);
  }
  await tickets.flush();
  await surveys.flush();

  const usage = sink('usage');
  for (const p of profiles) for (const e of usageEvents(p, seed, asOf)) await usage.add(e);
  await usage.flush();

  return {
    asOf: asOfDay,
    accounts,
    signals: { usage: usage.counts, tickets: tickets.counts, surveys: surveys.counts, contracts: contracts.counts },
    errors,
  };
}
