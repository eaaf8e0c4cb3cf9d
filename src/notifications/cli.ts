import { parseArgs } from 'node:util';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { createChannel, createRoute, deleteChannel, listChannels, listRoutes } from './channels.js';
import { sendDigests } from './digest.js';
import { findPreferences, loadPreferences, type Preferences, savePreferences } from './preferences.js';
import { channelCreateSchema, preferenceChanges, preferencesBodySchema, preferencesJson, routeCreateSchema } from './schemas.js';

type WithDatabase = <T>(fn: (db: Kysely<Database>) => Promise<T>) => Promise<T>;
type UsageErrorFactory = (message: string) => Error;

export const NOTIFICATIONS_USAGE = `  notifications prefs [EMAIL]                 show preferences (everyone's, or one person's)
  notifications prefs EMAIL [--language en|zh-CN] [--timezone ZONE|member] [--events a,b|none]
                    [--channel ID|email] [--quiet HH:MM-HH:MM|none] [--digest-time HH:MM] [--digest-days 1,2,3|working]
                                            change a team member's notification preferences
  notifications channels                    list chat channels (hosts only, never URLs or secrets)
  notifications channels add NAME --kind slack|teams|wecom|dingtalk|feishu --url URL
                    [--secret S] [--language en|zh-CN] [--owner EMAIL]
  notifications channels remove ID
  notifications routes                      list team-channel routes
  notifications routes add CHANNEL_ID --events alert_opened,… [--segments a,b] [--severities critical,high]
  notifications digests                     send the daily digests due now (as the job does)`;

const list = (v: string | undefined) => (v === undefined ? undefined : v.split(',').map((x) => x.trim()).filter(Boolean));

/** Field errors of a zod result, as one line. */
function check<T>(result: { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } }, usage: UsageErrorFactory): T {
  if (result.success) return result.data;
  throw usage(result.error.issues.map((i) => `${i.path.map(String).join('.') || 'input'}: ${i.message}`).join('; '));
}

const show = (p: Preferences) => {
  const j = preferencesJson(p);
  console.log(
    [
      j.email,
      j.language,
      j.timezone,
      j.events.join(',') || '(none)',
      j.channelId === null ? 'email' : `channel ${j.channelId}`,
      j.quietHours ? `${j.quietHours.start}-${j.quietHours.end}` : 'no quiet hours',
      `digest ${j.digestTime} on ${j.digestDays.join(',')}`,
      j.saved ? 'saved' : 'defaults',
    ].join('\t'),
  );
};

export async function notificationsCommand(args: string[], withDatabase: WithDatabase, usage: UsageErrorFactory): Promise<void> {
  const [what, ...rest] = args;
  if (what === 'prefs') {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        language: { type: 'string' },
        timezone: { type: 'string' },
        events: { type: 'string' },
        channel: { type: 'string' },
        quiet: { type: 'string' },
        'digest-time': { type: 'string' },
        'digest-days': { type: 'string' },
      },
    });
    const email = positionals[0];
    if (!email) {
      for (const p of (await withDatabase((db) => loadPreferences(db))).values()) show(p);
      return;
    }
    const changes = Object.values(values).some((v) => v !== undefined);
    if (!changes) {
      const p = await withDatabase((db) => findPreferences(db, email));
      if (!p) throw new Error(`${email} is not a team member`);
      return show(p);
    }
    const quiet = values.quiet === undefined ? undefined : values.quiet === 'none' ? null : /^(\d\d:\d\d)-(\d\d:\d\d)$/.exec(values.quiet);
    if (quiet === null && values.quiet !== 'none') throw usage('--quiet is HH:MM-HH:MM or none');
    const body = check(
      preferencesBodySchema.safeParse({
        language: values.language,
        timezone: values.timezone === 'member' ? null : values.timezone,
        events: values.events === 'none' ? [] : list(values.events),
        channelId: values.channel === undefined ? undefined : values.channel === 'email' ? null : Number(values.channel),
        quietHours: quiet === undefined ? undefined : quiet === null ? null : { start: quiet[1], end: quiet[2] },
        digestTime: values['digest-time'],
        digestDays: values['digest-days'] === undefined ? undefined : values['digest-days'] === 'working' ? null : list(values['digest-days'])!.map(Number),
      }),
      usage,
    );
    const result = await withDatabase((db) => savePreferences(db, email, preferenceChanges(body)));
    if (result === 'no_member') throw new Error(`${email} is not a team member`);
    if (result === 'no_channel') throw new Error('no such channel, or it is another person’s own channel');
    return show(result);
  }
  if (what === 'channels') {
    const [action, ...more] = rest;
    if (action === undefined) {
      console.log(['id', 'name', 'kind', 'language', 'owner', 'host', 'signed', 'active'].join('\t'));
      for (const c of await withDatabase((db) => listChannels(db))) {
        console.log([c.id, c.name, c.kind, c.language, c.owner ?? '-', c.host, c.signed, c.active ? 'yes' : `no (${c.disabledReason})`].join('\t'));
      }
      return;
    }
    if (action === 'add') {
      const { values, positionals } = parseArgs({
        args: more,
        allowPositionals: true,
        options: { kind: { type: 'string' }, url: { type: 'string' }, secret: { type: 'string' }, language: { type: 'string' }, owner: { type: 'string' } },
      });
      const input = check(
        channelCreateSchema.safeParse({ name: positionals[0], kind: values.kind, url: values.url, signingSecret: values.secret, language: values.language, owner: values.owner }),
        usage,
      );
      if ((input.kind === 'dingtalk' || input.kind === 'feishu') && !input.signingSecret) throw usage(`a ${input.kind} channel needs --secret (the robot's signing secret)`);
      const created = await withDatabase((db) => createChannel(db, { ...input, owner: input.owner ?? null }));
      if (created === 'name_taken') throw new Error(`a channel named ${input.name} exists`);
      if (created === 'no_member') throw new Error(`${input.owner} is not a team member`);
      console.log(`created ${created.kind} channel ${created.id} "${created.name}" (${created.host})`);
      return;
    }
    if (action === 'remove') {
      const id = Number(more[0]);
      if (!Number.isSafeInteger(id) || id <= 0) throw usage('notifications channels remove needs a channel id');
      if (!(await withDatabase((db) => deleteChannel(db, id)))) throw new Error(`no channel ${id}`);
      console.log(`removed channel ${id}`);
      return;
    }
    throw usage(`unknown notifications channels action: ${action}`);
  }
  if (what === 'routes') {
    const [action, ...more] = rest;
    if (action === undefined) {
      console.log(['id', 'channel', 'events', 'segments', 'severities'].join('\t'));
      for (const r of await withDatabase((db) => listRoutes(db))) {
        console.log([r.id, r.channelId, r.eventTypes.join(','), r.segments?.join(',') ?? 'any', r.severities?.join(',') ?? 'any'].join('\t'));
      }
      return;
    }
    if (action === 'add') {
      const { values, positionals } = parseArgs({ args: more, allowPositionals: true, options: { events: { type: 'string' }, segments: { type: 'string' }, severities: { type: 'string' } } });
      const id = Number(positionals[0]);
      if (!Number.isSafeInteger(id) || id <= 0) throw usage('notifications routes add needs a channel id');
      const input = check(routeCreateSchema.safeParse({ eventTypes: list(values.events), segments: list(values.segments), severities: list(values.severities) }), usage);
      const route = await withDatabase((db) => createRoute(db, id, input));
      if (route === 'no_channel') throw new Error(`no channel ${id}`);
      if (route === 'personal') throw new Error(`channel ${id} is a person's own channel; routes are for team channels`);
      console.log(`created route ${route.id} to channel ${id}`);
      return;
    }
    throw usage(`unknown notifications routes action: ${action}`);
  }
  if (what === 'digests') {
    const counts = await withDatabase((db) => sendDigests(db));
    console.log(`digests due ${counts.due}, made ${counts.sent} (${counts.held} held for quiet hours); the delivery worker sends them`);
    return;
  }
  throw usage(`unknown notifications command: ${what ?? '(none)'}`);
}
