import type { AccountInput } from '../accounts/schemas.js';
import type { Contract } from '../signals/schemas.js';
import { churnProbability, drawLatent, healthAt, type Latent } from './latent.js';
import { addMonths, DAY_MS, isoDay, iso, Random, sigmoid } from './random.js';
import { COMPANY_A, COMPANY_B, FIRST, LAST, REGIONS, RETENTION_OWNERS, type Segment, SEGMENTS } from './vocabulary.js';

/** Days of signals the demo writes: two years up to its as-of day. */
export const DEMO_DAYS = 730;
/** Customers of the window's start renew first at least this many days into it, so every outcome has signals before it. */
const FIRST_RENEWAL_AFTER_DAYS = 200;

/** One generated customer: its account, its hidden health and its contracts. */
export interface Profile {
  index: number;
  input: AccountInput;
  segment: Segment;
  latent: Latent;
  /** UTC offset in hours, for business-hours timestamps. */
  utcOffset: number;
  windowStart: number;
  /** Day (ms) the customer's data starts: its start, or the window's. */
  activeFrom: number;
  /** Whether it started inside the window (its usage ramps up). */
  joined: boolean;
  /** Day (ms) its usage ends: the renewal it churned at, or never. */
  activeUntil: number;
  users: string[];
  contracts: Contract[];
}

const SLUG = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '');

export function companyNames(seed: number): string[] {
  const names = COMPANY_A.flatMap((a) => COMPANY_B.map(([b]) => `${a} ${b}`));
  const rng = new Random(`${seed}/names`);
  for (let i = names.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [names[i], names[j]] = [names[j]!, names[i]!];
  }
  return names;
}

const byWeight = <K extends string>(table: Record<K, { weight: number }>) =>
  Object.fromEntries(Object.entries(table).map(([k, v]) => [k, (v as { weight: number }).weight])) as Record<K, number>;

export function profile(seed: number, index: number, names: string[], asOf: number): Profile {
  const rng = new Random(`${seed}/${index}/account`);
  const segment = rng.weighted(byWeight(SEGMENTS));
  const seg = SEGMENTS[segment];
  const regionKey = rng.weighted(byWeight(REGIONS));
  const region = REGIONS[regionKey];
  const zones: readonly (readonly [string, number])[] = region.zones;
  const [timezone, utcOffset] = rng.pick(zones);
  const windowStart = asOf - DEMO_DAYS * DAY_MS;
  const latent = drawLatent(rng, windowStart, DEMO_DAYS);
  const health = (day: number) => healthAt(latent, day, windowStart);

  const base = names[index % names.length]!;
  const name = index < names.length ? base : `${base} ${Math.floor(index / names.length) + 1}`;
  const suffix = name.split(' ').find((w) => COMPANY_B.some(([b]) => b === w));
  const industry = COMPANY_B.find(([b]) => b === suffix)?.[1] ?? 'software';
  const domain = `${SLUG(name)}.example`;
  const externalId = `demo-${seed}-${String(index + 1).padStart(4, '0')}`;
  const num = String(index + 1).padStart(4, '0');

  let seats = rng.int(seg.seats[0], seg.seats[1]);
  const pricePerSeat = rng.between(seg.pricePerSeat[0], seg.pricePerSeat[1]) * region.fx;
  const termMonths = rng.pick(seg.terms);
  let autoRenew = rng.chance(seg.autoRenew * (0.6 + 0.8 * sigmoid(latent.level)));

  // A third start inside the window; the rest were customers before it and renew first well inside it.
  const joined = rng.chance(0.35);
  let start: number;
  let since: number;
  if (joined) {
    start = windowStart + rng.int(0, DEMO_DAYS - 20) * DAY_MS;
    since = start;
  } else {
    const firstEnd = windowStart + rng.int(FIRST_RENEWAL_AFTER_DAYS, FIRST_RENEWAL_AFTER_DAYS + termMonths * 30) * DAY_MS;
    start = addMonths(firstEnd + DAY_MS, -termMonths);
    since = rng.chance(0.3) ? start : start - rng.int(1, 3) * 365 * DAY_MS;
  }

  const contracts: Contract[] = [];
  let activeUntil = Number.POSITIVE_INFINITY;
  for (;;) {
    const end = addMonths(start, termMonths) - DAY_MS;
    const arr = Math.round((seats * pricePerSeat) / 100) * 100;
    const contract: Contract = {
      contractId: `C-${num}-${contracts.length + 1}`,
      account: externalId,
      startDate: isoDay(start),
      endDate: isoDay(end),
      arr,
      currency: region.currency,
      seats,
      autoRenew,
      status: 'active',
      paymentStatus: 'current',
    };
    contracts.push(contract);
    if (end >= asOf - DAY_MS) break;
    // The renewal: decided about two months ahead, from the health then.
    const decidedOn = health(end - 60 * DAY_MS);
    const churns = rng.chance(churnProbability(latent, { health: decidedOn, firstRenewal: since === start, autoRenew, termMonths }));
    contract.updatedAt = iso(end + 10 * 3600_000);
    if (churns) {
      contract.status = 'churned';
      activeUntil = end;
      break;
    }
    const downgrades = rng.chance(sigmoid(-2.2 - 0.9 * decidedOn));
    contract.status = downgrades ? 'downgraded' : 'renewed';
    seats = downgrades ? Math.max(1, Math.round(seats * rng.between(0.6, 0.85))) : Math.round(seats * (1 + rng.between(0, 0.15) * sigmoid(2 * decidedOn)));
    if (rng.chance(0.15)) autoRenew = !autoRenew;
    start = end + DAY_MS;
  }
  const current = contracts.at(-1)!;
  // Payment standing is known only as it is now (contracts carry no history of it here).
  if (current.status === 'active' && rng.chance(sigmoid(-2.6 - 1.1 * health(asOf)))) current.paymentStatus = 'overdue';
  const churned = current.status === 'churned';
  const daysToRenewal = (Date.parse(current.endDate) - asOf) / DAY_MS;
  const lifecycleStage = churned
    ? 'churned'
    : joined && asOf - since < 75 * DAY_MS
      ? 'onboarding'
      : daysToRenewal <= 90
        ? 'renewal'
        : health(asOf) > 0.8
          ? 'expansion'
          : 'adoption';
  const userCount = Math.max(2, Math.min(150, Math.round(seats * rng.between(0.55, 0.9))));
  const rotate = rng.int(0, FIRST.length * LAST.length - 1);
  const users = Array.from({ length: userCount }, (_, j) => {
    const k = (j + rotate) % (FIRST.length * LAST.length);
    return `${FIRST[k % FIRST.length]}.${LAST[Math.floor(k / FIRST.length)]}@${domain}`;
  });

  return {
    index,
    segment,
    latent,
    utcOffset,
    windowStart,
    activeFrom: Math.max(windowStart, since),
    joined,
    activeUntil,
    users,
    contracts,
    input: {
      externalId,
      name,
      segment,
      tier: rng.weighted(seg.tiers as Record<string, number>),
      owner: rng.pick(seg.owners),
      retentionOwner: RETENTION_OWNERS[index % RETENTION_OWNERS.length]!,
      seats: current.seats ?? seats,
      arr: current.arr,
      currency: region.currency,
      timezone,
      lifecycleStage,
      renewalDate: current.endDate,
      attributes: { industry, region: regionKey, demo: true, customerSince: isoDay(since) },
    },
  };
}
