/** Names, segments, regions and texts of the generated portfolio. */

export const COMPANY_A = [
  'Northwind', 'Contoso', 'Globex', 'Initech', 'Umbrella', 'Stark', 'Wayne', 'Acme', 'Hooli', 'Vandelay',
  'Soylent', 'Tyrell', 'Cyberdyne', 'Aperture', 'Wonka', 'Oceanic', 'Dunder', 'Massive', 'Blue Sun', 'Monarch',
  'Nakatomi', 'Oscorp', 'Prestige', 'Sterling', 'Virtucon', 'Bluth', 'Gekko', 'Duff', 'Ollivander', 'Pendant',
  'Halcyon', 'Juniper', 'Kestrel', 'Lumen', 'Meridian', 'Nimbus', 'Orchid', 'Pinnacle', 'Quill', 'Redwood',
] as const;
export const COMPANY_B = [
  ['Logistics', 'logistics'], ['Health', 'healthcare'], ['Labs', 'research'], ['Foods', 'food & beverage'],
  ['Capital', 'financial services'], ['Systems', 'software'], ['Retail', 'retail'], ['Media', 'media'],
  ['Energy', 'energy'], ['Robotics', 'manufacturing'], ['Analytics', 'software'], ['Travel', 'travel'],
  ['Insurance', 'insurance'], ['Learning', 'education'], ['Manufacturing', 'manufacturing'], ['Biotech', 'life sciences'],
  ['Telecom', 'telecommunications'], ['Realty', 'real estate'], ['Consulting', 'professional services'], ['Freight', 'logistics'],
] as const;
export const FIRST = ['ana', 'ben', 'chloe', 'dev', 'emma', 'felix', 'grace', 'hugo', 'ines', 'jon', 'kira', 'leo', 'mia', 'nils', 'olga', 'paul', 'rosa', 'sven', 'tara', 'yusuf'];
export const LAST = ['adams', 'berg', 'costa', 'diaz', 'evans', 'fischer', 'garcia', 'hughes', 'ito', 'jensen', 'khan', 'lopez', 'meyer', 'nowak', 'obi', 'perez', 'rossi', 'sato', 'weber', 'young'];

/**
 * Segments: how big, how long the terms, how much they use and ask. Seats are
 * the licensed users, about two thirds of whom have a login (`users`).
 */
export const SEGMENTS = {
  enterprise: {
    weight: 15, tiers: { platinum: 1, gold: 1 }, seats: [60, 300], pricePerSeat: [900, 1600], terms: [12, 24, 36],
    owners: ['dana.kim@example.com', 'li.wei@example.com'], eventsPerDay: 4, ticketsPerYear: 24, autoRenew: 0.15,
  },
  'mid-market': {
    weight: 35, tiers: { gold: 2, silver: 3 }, seats: [15, 80], pricePerSeat: [600, 1000], terms: [12, 12, 24],
    owners: ['sam.okafor@example.com', 'maria.garcia@example.com'], eventsPerDay: 1.8, ticketsPerYear: 12, autoRenew: 0.4,
  },
  smb: {
    weight: 50, tiers: { silver: 3, bronze: 7 }, seats: [3, 20], pricePerSeat: [350, 600], terms: [12],
    owners: ['alex.novak@example.com', 'priya.shah@example.com'], eventsPerDay: 0.6, ticketsPerYear: 6, autoRenew: 0.6,
  },
} as const;
export type Segment = keyof typeof SEGMENTS;

export const RETENTION_OWNERS = ['jordan.lee@example.com', 'fatima.haddad@example.com', 'noah.schmidt@example.com'];

/** Region: currency, an approximate rate from USD, time zones and their usual UTC offsets. */
export const REGIONS = {
  us: { weight: 45, currency: 'USD', fx: 1, zones: [['America/New_York', -5], ['America/Chicago', -6], ['America/Denver', -7], ['America/Los_Angeles', -8]] },
  ca: { weight: 5, currency: 'CAD', fx: 1.36, zones: [['America/Toronto', -5], ['America/Vancouver', -8]] },
  eu: { weight: 25, currency: 'EUR', fx: 0.92, zones: [['Europe/Berlin', 1], ['Europe/Paris', 1], ['Europe/Amsterdam', 1], ['Europe/Madrid', 1]] },
  uk: { weight: 12, currency: 'GBP', fx: 0.79, zones: [['Europe/London', 0]] },
  au: { weight: 8, currency: 'AUD', fx: 1.52, zones: [['Australia/Sydney', 10]] },
  sg: { weight: 5, currency: 'SGD', fx: 1.34, zones: [['Asia/Singapore', 8]] },
} as const;

export const METRICS = {
  login: 34,
  'report.viewed': 24,
  'dashboard.viewed': 14,
  'report.exported': 9,
  'api.call': 10,
  'integration.synced': 6,
  'user.invited': 3,
} as const;

export const TICKET_SUBJECTS = [
  'Cannot export report to CSV', 'SSO login fails for new users', 'Dashboard loads slowly', 'Invoice shows wrong seat count',
  'API rate limit reached', 'Integration sync stopped', 'How do I add a custom field?', 'Data missing since yesterday',
  'Request: bulk user import', 'Password reset email not arriving', 'Permissions for a read-only role', 'Webhook deliveries failing',
  'Billing contact change', 'Scheduled report not sent', 'Mobile app crashes on launch', 'Question about data retention',
];
export const NPS_COMMENTS = {
  promoter: ['Great product, the team relies on it daily.', 'Support is fast and helpful.', 'Reports save us hours every week.', 'Easy to roll out to new teams.'],
  passive: ['Does the job, a few rough edges.', 'Good, but the UI could be simpler.', 'Pricing is getting hard to justify.', 'Solid, waiting for better integrations.'],
  detractor: ['Too many outages lately.', 'We barely use it any more.', 'Support takes days to answer.', 'Missing features we were promised.', 'Evaluating alternatives.'],
};
