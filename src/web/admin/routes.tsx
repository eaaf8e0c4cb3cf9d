/** @jsxImportSource hono/jsx */
import type { Hono } from 'hono';
import { parseScopes, SCOPES } from '../../auth/keys.js';
import { createApiKey, listApiKeys, revokeApiKey } from '../../auth/repository.js';
import type { MessageKey } from '../../i18n/index.js';
import { randomPassword } from '../../people/passwords.js';
import { createPerson, findPerson, listPeople, PersonInputError, resetPassword, setDisabled, setRoles } from '../../people/repository.js';
import { ROLES } from '../../people/roles.js';
import { findSubscription, listDeliveries, listSubscriptions, replayDelivery } from '../../webhooks/outbound/repository.js';
import { done, formOf, noticeOf, PageError, requirePermission, type WebContextOf, type WebEnv } from '../context.js';
import { CsrfField, Layout } from '../layout.js';

const idParam = (c: WebContextOf, name = 'id') => {
  const id = Number(c.req.param(name));
  if (!Number.isSafeInteger(id) || id <= 0) throw new PageError(404, 'error.notFound');
  return id;
};

/** A secret shown once, on the response that created it. */
type OneTime = { label: MessageKey; value: string } | undefined;

async function AdminPage({ c, secret, error }: { c: WebContextOf; secret?: OneTime; error?: string }) {
  const webc = c.var.web;
  const tr = webc.tr;
  const { t } = tr;
  const [people, keys, subscriptions] = await Promise.all([listPeople(c.var.db), listApiKeys(c.var.db), listSubscriptions(c.var.db)]);
  return (
    <Layout web={webc} title={t('admin.title')} path="/admin" notice={noticeOf(c)}>
      <h1>{t('admin.title')}</h1>
      <p class="row">
        <a href="/admin/audit">{t('admin.auditLink')}</a> <a href="/admin/sso">{t('admin.sso')}</a>
      </p>
      {secret ? (
        <div class="notice" role="status">
          {t(secret.label)} <code data-testid="secret">{secret.value}</code>
        </div>
      ) : null}
      {error ? (
        <p class="error-box" role="alert">
          {error}
        </p>
      ) : null}
      <section class="panel" aria-labelledby="h-people">
        <h2 id="h-people">{t('admin.people')}</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">{t('col.name')}</th>
              <th scope="col">{t('signIn.email')}</th>
              <th scope="col">{t('admin.roles')}</th>
              <th scope="col">{t('col.status')}</th>
              <th scope="col">{t('col.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {people.map((p) => (
              <tr data-person={p.email}>
                <td>{p.name}</td>
                <td>{p.email}</td>
                <td>
                  <form method="post" action={`/admin/people/${p.id}/roles`} class="row">
                    <CsrfField web={webc} />
                    <fieldset class="roles">
                      <legend class="sr">{t('admin.rolesOf', { name: p.name })}</legend>
                      {ROLES.map((r) => (
                        <label class="check">
                          <input type="checkbox" name={`role_${r}`} value="1" checked={p.roles.includes(r)} /> {t(`role.${r}` as MessageKey)}
                        </label>
                      ))}
                    </fieldset>
                    <button type="submit" class="secondary">
                      {t('admin.saveRoles')}
                    </button>
                  </form>
                </td>
                <td>{p.disabledAt ? t('admin.disabled') : t('admin.active')}</td>
                <td>
                  <form method="post" action={`/admin/people/${p.id}/reset-password`} class="row" data-confirm={t('admin.resetConfirm', { email: p.email })}>
                    <CsrfField web={webc} />
                    <button type="submit" class="secondary">
                      {t('admin.resetPassword')}
                    </button>
                  </form>
                  <form method="post" action={`/admin/people/${p.id}/${p.disabledAt ? 'enable' : 'disable'}`} class="row">
                    <CsrfField web={webc} />
                    <button type="submit" class="secondary">
                      {p.disabledAt ? t('admin.enable') : t('admin.disable')}
                    </button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <h3>{t('admin.addPerson')}</h3>
        <form method="post" action="/admin/people" class="row">
          <CsrfField web={webc} />
          <label>
            {t('col.name')} <input type="text" name="name" required maxlength={200} />
          </label>
          <label>
            {t('signIn.email')} <input type="email" name="email" required maxlength={320} />
          </label>
          <label>
            {t('admin.role')}{' '}
            <select name="role">
              {ROLES.map((r) => (
                <option value={r}>{t(`role.${r}` as MessageKey)}</option>
              ))}
            </select>
          </label>
          <button type="submit">{t('admin.add')}</button>
        </form>
      </section>

      <section class="panel" aria-labelledby="h-keys">
        <h2 id="h-keys">{t('admin.apiKeys')}</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">{t('col.name')}</th>
              <th scope="col">{t('admin.prefix')}</th>
              <th scope="col">{t('admin.scopes')}</th>
              <th scope="col">{t('admin.lastUsed')}</th>
              <th scope="col">{t('col.status')}</th>
              <th scope="col">{t('col.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr>
                <td>{k.name}</td>
                <td class="mono">{k.prefix}…</td>
                <td>{k.scopes.join(', ')}</td>
                <td>{tr.dateTime(k.lastUsedAt)}</td>
                <td>{k.revokedAt ? t('admin.revoked') : t('admin.active')}</td>
                <td>
                  {k.revokedAt ? null : (
                    <form method="post" action={`/admin/keys/${k.id}/revoke`} class="row" data-confirm={t('admin.revokeConfirm')}>
                      <CsrfField web={webc} />
                      <button type="submit" class="secondary">
                        {t('admin.revoke')}
                      </button>
                    </form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <h3>{t('admin.createKey')}</h3>
        <form method="post" action="/admin/keys" class="row">
          <CsrfField web={webc} />
          <label>
            {t('col.name')} <input type="text" name="name" required maxlength={100} />
          </label>
          <fieldset class="roles">
            <legend>{t('admin.scopes')}</legend>
            {SCOPES.map((s) => (
              <label class="check">
                <input type="checkbox" name={`scope_${s}`} value="1" checked={s === 'read'} /> {s}
              </label>
            ))}
          </fieldset>
          <button type="submit">{t('admin.create')}</button>
        </form>
      </section>

      <section class="panel" aria-labelledby="h-hooks">
        <h2 id="h-hooks">{t('admin.webhooks')}</h2>
        {subscriptions.length ? (
          <table>
            <thead>
              <tr>
                <th scope="col">URL</th>
                <th scope="col">{t('admin.events')}</th>
                <th scope="col">{t('col.status')}</th>
                <th scope="col">{t('admin.failingSince')}</th>
              </tr>
            </thead>
            <tbody>
              {subscriptions.map((s) => (
                <tr>
                  <td>
                    <a href={`/admin/webhooks/${s.id}`} class="mono">
                      {s.url}
                    </a>
                  </td>
                  <td class="mono">{s.eventTypes.join(', ')}</td>
                  <td>{s.active ? t('admin.active') : t('admin.disabled')}</td>
                  <td>{tr.dateTime(s.failingSince)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p class="muted">{t('admin.noWebhooks')}</p>
        )}
      </section>
    </Layout>
  );
}

export function registerAdminPages(web: Hono<WebEnv>) {
  web.get('/admin', async (c) => {
    requirePermission(c, 'admin');
    return c.html(<AdminPage c={c} />);
  });

  web.post('/admin/people', async (c) => {
    requirePermission(c, 'administer');
    const form = await formOf(c);
    const password = randomPassword();
    try {
      const person = await createPerson(c.var.db, { email: form.email ?? '', name: (form.name ?? '').slice(0, 200), roles: [form.role ?? ''], password });
      return c.html(<AdminPage c={c} secret={{ label: 'admin.passwordOnce', value: `${person.email}: ${password}` }} />, 201);
    } catch (err) {
      if (err instanceof PersonInputError) return c.html(<AdminPage c={c} error={err.message} />, 422);
      throw err;
    }
  });

  web.post('/admin/people/:id/roles', async (c) => {
    requirePermission(c, 'administer');
    const form = await formOf(c);
    const roles = ROLES.filter((r) => form[`role_${r}`] === '1');
    const id = idParam(c);
    if (id === c.var.web.person!.id && !roles.includes('admin')) return c.html(<AdminPage c={c} error={c.var.web.tr.t('admin.keepOwnAdmin')} />, 422);
    if (!(await setRoles(c.var.db, id, roles))) throw new PageError(404, 'error.notFound');
    return done(c, '/admin', 'notice.rolesSaved');
  });

  web.post('/admin/people/:id/reset-password', async (c) => {
    requirePermission(c, 'administer');
    const person = await findPerson(c.var.db, idParam(c));
    if (!person) throw new PageError(404, 'error.notFound');
    const password = randomPassword();
    await resetPassword(c.var.db, person.email, password);
    return c.html(<AdminPage c={c} secret={{ label: 'admin.passwordOnce', value: `${person.email}: ${password}` }} />);
  });

  for (const action of ['disable', 'enable'] as const) {
    web.post(`/admin/people/:id/${action}`, async (c) => {
      requirePermission(c, 'administer');
      const id = idParam(c);
      if (id === c.var.web.person!.id) return c.html(<AdminPage c={c} error={c.var.web.tr.t('admin.keepOwnAdmin')} />, 422);
      if (!(await setDisabled(c.var.db, id, action === 'disable'))) throw new PageError(404, 'error.notFound');
      return done(c, '/admin', 'notice.personUpdated');
    });
  }

  web.post('/admin/keys', async (c) => {
    requirePermission(c, 'administer');
    const form = await formOf(c);
    const scopes = SCOPES.filter((s) => form[`scope_${s}`] === '1');
    const name = (form.name ?? '').trim().slice(0, 100);
    if (!name || scopes.length === 0) return c.html(<AdminPage c={c} error={c.var.web.tr.t('admin.keyInvalid')} />, 422);
    const { key } = await createApiKey(c.var.db, name, parseScopes(scopes.join(',')));
    return c.html(<AdminPage c={c} secret={{ label: 'admin.keyOnce', value: key }} />, 201);
  });

  web.post('/admin/keys/:id/revoke', async (c) => {
    requirePermission(c, 'administer');
    await revokeApiKey(c.var.db, idParam(c));
    return done(c, '/admin', 'notice.keyRevoked');
  });

  web.get('/admin/webhooks/:id', async (c) => {
    requirePermission(c, 'admin');
    const sub = await findSubscription(c.var.db, idParam(c));
    if (!sub) throw new PageError(404, 'error.notFound');
    const webc = c.var.web;
    const tr = webc.tr;
    const { t } = tr;
    const before = Number(c.req.query('before'));
    const page = await listDeliveries(c.var.db, sub.id, { limit: 50, beforeId: Number.isSafeInteger(before) && before > 0 ? before : undefined });
    return c.html(
      <Layout web={webc} title={t('admin.deliveries')} path="/admin" notice={noticeOf(c)}>
        <p>
          <a href="/admin">← {t('admin.title')}</a>
        </p>
        <h1>{t('admin.deliveries')}</h1>
        <p class="mono">{sub.url}</p>
        <div class="panel">
          <table>
            <thead>
              <tr>
                <th scope="col">{t('admin.event')}</th>
                <th scope="col">{t('col.status')}</th>
                <th scope="col" class="num">{t('admin.attempts')}</th>
                <th scope="col">{t('admin.lastResult')}</th>
                <th scope="col">{t('scorecards.createdCol')}</th>
                <th scope="col">{t('col.actions')}</th>
              </tr>
            </thead>
            <tbody>
              {page.items.length === 0 ? (
                <tr>
                  <td colspan={6} class="muted">
                    {t('admin.noDeliveries')}
                  </td>
                </tr>
              ) : null}
              {page.items.map((d) => (
                <tr>
                  <td class="mono">
                    {d.eventType}
                    <div class="muted">{d.eventId}</div>
                  </td>
                  <td>{t(`delivery.${d.status}` as MessageKey)}</td>
                  <td class="num">{d.attemptCount}</td>
                  <td class="mono">{d.lastStatusCode ?? d.lastError ?? '—'}</td>
                  <td>{tr.dateTime(d.createdAt)}</td>
                  <td>
                    {d.status === 'pending' ? null : (
                      <form method="post" action={`/admin/webhooks/${sub.id}/deliveries/${d.id}/replay`} class="row">
                        <CsrfField web={webc} />
                        <button type="submit" class="secondary">
                          {t('admin.replay')}
                        </button>
                      </form>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {page.nextBeforeId ? (
            <p class="pager">
              <a href={`/admin/webhooks/${sub.id}?before=${page.nextBeforeId}`}>{t('common.nextPage')}</a>
            </p>
          ) : null}
        </div>
      </Layout>,
    );
  });

  web.post('/admin/webhooks/:id/deliveries/:deliveryId/replay', async (c) => {
    requirePermission(c, 'administer');
    const subId = idParam(c);
    const result = await replayDelivery(c.var.db, idParam(c, 'deliveryId'));
    if (result === 'not_found') throw new PageError(404, 'error.notFound');
    if (result === 'inactive' || result === 'pending') throw new PageError(409, 'error.conflict');
    return done(c, `/admin/webhooks/${subId}`, 'notice.replayed');
  });
}
