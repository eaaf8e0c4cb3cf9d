/**
 * Roles of the people who sign in to the web app, and what each may see and
 * do. The menu and the server read the same table, so a URL typed by hand
 * gets the same answer as the menu.
 */
export const ROLES = ['csm', 'retention', 'dispatcher', 'manager', 'analyst', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export const isRole = (value: string): value is Role => (ROLES as readonly string[]).includes(value);

/** Pages (and the permission to open them). */
export const PAGES = ['portfolio', 'account', 'inbox', 'followups', 'dispatch', 'kpis', 'scorecards', 'proof', 'admin'] as const;
export type Page = (typeof PAGES)[number];

/** Actions beyond opening a page. */
export type Action = 'pulse' | 'work_alerts' | 'work_followups' | 'reassign_followups' | 'edit_scorecards' | 'administer';

export type Permission = Page | Action;

const ALL: readonly Role[] = ROLES;

export const PERMISSIONS: Record<Permission, readonly Role[]> = {
  portfolio: ['csm', 'retention', 'manager', 'analyst', 'admin'],
  account: ALL,
  inbox: ['csm', 'retention', 'manager', 'admin'],
  followups: ['csm', 'retention', 'dispatcher', 'manager', 'admin'],
  dispatch: ['dispatcher', 'manager', 'admin'],
  kpis: ['manager', 'analyst', 'admin'],
  scorecards: ['analyst', 'admin'],
  // Backtest reports: the analyst who runs them and the manager who decides on them (fits stay with edit_scorecards).
  proof: ['manager', 'analyst', 'admin'],
  admin: ['admin'],
  pulse: ['csm', 'manager', 'admin'],
  work_alerts: ['retention', 'manager', 'admin'],
  work_followups: ['csm', 'retention', 'dispatcher', 'manager', 'admin'],
  reassign_followups: ['dispatcher', 'manager', 'admin'],
  edit_scorecards: ['analyst', 'admin'],
  administer: ['admin'],
};

export const may = (roles: readonly string[], permission: Permission) => PERMISSIONS[permission].some((r) => roles.includes(r));

/** The page a person lands on after signing in. */
export function homePage(roles: readonly string[]): string {
  if (may(roles, 'portfolio')) return '/portfolio';
  if (may(roles, 'followups')) return '/follow-ups';
  return '/account-search';
}
