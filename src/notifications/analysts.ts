import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import { isLocale } from '../i18n/index.js';
import type { Language, NotificationPayload } from './model.js';
import { emailSubscriptions, insertNotifications, type NotificationItem } from './outbox.js';
import { loadPreferences } from './preferences.js';

type Db = Kysely<Database>;
type Trx = Transaction<Database>;

/**
 * Sends a notification to every active person with the analyst role: to their
 * own chat channel when their preferences name one, else by email, in their
 * language. Returns how many notifications were queued.
 */
export async function notifyAnalysts(trx: Trx, content: Omit<NotificationPayload, 'language' | 'timezone' | 'recipient'>): Promise<number> {
  const { rows: analysts } = await sql<{ email: string; name: string; locale: string | null }>`
    select email, name, locale from people where 'analyst' = any(roles) and disabled_at is null order by email`.execute(trx);
  if (analysts.length === 0) return 0;
  const prefs = await loadPreferences(
    trx,
    analysts.map((a) => a.email),
  );
  const items: NotificationItem[] = [];
  const byEmail: { address: string; payload: NotificationPayload }[] = [];
  const channels = new Map(
    (
      await trx
        .selectFrom('notification_channels as c')
        .innerJoin('webhook_subscriptions as s', 's.id', 'c.subscription_id')
        .select(['c.id', 'c.subscription_id', 's.active'])
        .execute()
    ).map((c) => [Number(c.id), c]),
  );
  for (const a of analysts) {
    const pref = prefs.get(a.email);
    const language: Language = pref?.language ?? (isLocale(a.locale) ? a.locale : 'en');
    const payload: NotificationPayload = { ...content, language, timezone: pref?.timezone ?? 'UTC', recipient: { email: a.email, name: a.name } };
    const channel = pref?.channelId ? channels.get(pref.channelId) : undefined;
    if (channel?.active) items.push({ subscriptionId: Number(channel.subscription_id), payload });
    else byEmail.push({ address: a.email, payload });
  }
  if (byEmail.length) {
    const subs = await emailSubscriptions(
      trx,
      byEmail.map((i) => i.address),
    );
    for (const i of byEmail) {
      const sub = subs.get(i.address);
      if (sub?.active) items.push({ subscriptionId: sub.id, payload: i.payload });
    }
  }
  await insertNotifications(trx, items);
  return items.length;
}
