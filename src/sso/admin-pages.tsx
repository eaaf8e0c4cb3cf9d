/** @jsxImportSource hono/jsx */
import type { Hono } from 'hono';
import type { MessageKey } from '../i18n/index.js';
import { ROLES } from '../people/roles.js';
import { done, formOf, noticeOf, PageError, requirePermission, type WebEnv } from '../web/context.js';
import { CsrfField, Layout } from '../web/layout.js';
import { listGroupMappings, setGroupMapping } from './repository.js';

/** /admin/sso: which roles each identity-provider group grants. */
export function registerSsoAdminPages(web: Hono<WebEnv>) {
  web.get('/admin/sso', async (c) => {
    requirePermission(c, 'admin');
    const webc = c.var.web;
    const { t } = webc.tr;
    const mappings = await listGroupMappings(c.var.db);
    return c.html(
      <Layout web={webc} title={t('admin.sso')} path="/admin" notice={noticeOf(c)}>
        <p>
          <a href="/admin">← {t('admin.title')}</a>
        </p>
        <h1>{t('admin.sso')}</h1>
        <p class="muted">{t('admin.ssoHelp')}</p>
        <section class="panel">
          {mappings.length === 0 ? <p class="muted">{t('admin.noMappings')}</p> : null}
          <table>
            <thead>
              <tr>
                <th scope="col">{t('admin.group')}</th>
                <th scope="col">{t('admin.roles')}</th>
                <th scope="col">{t('col.actions')}</th>
              </tr>
            </thead>
            <tbody>
              {mappings.map((m) => (
                <tr data-group={m.group}>
                  <td class="mono">{m.group}</td>
                  <td>{m.roles.map((r) => t(`role.${r}` as MessageKey)).join(', ')}</td>
                  <td>
                    <form method="post" action="/admin/sso" class="row">
                      <CsrfField web={webc} />
                      <input type="hidden" name="group" value={m.group} />
                      <button type="submit" class="secondary">
                        {t('admin.removeMapping')}
                      </button>
                    </form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>{t('admin.addMapping')}</h2>
          <form method="post" action="/admin/sso" class="row">
            <CsrfField web={webc} />
            <label>
              {t('admin.group')} <input type="text" name="group" required maxlength={500} />
            </label>
            <fieldset class="roles">
              <legend>{t('admin.roles')}</legend>
              {ROLES.map((r) => (
                <label class="check">
                  <input type="checkbox" name={`role_${r}`} value="1" /> {t(`role.${r}` as MessageKey)}
                </label>
              ))}
            </fieldset>
            <button type="submit">{t('admin.saveRoles')}</button>
          </form>
        </section>
      </Layout>,
    );
  });

  web.post('/admin/sso', async (c) => {
    requirePermission(c, 'administer');
    const form = await formOf(c);
    const group = (form.group ?? '').trim();
    if (!group || group.length > 500) throw new PageError(422, 'error.badRequest');
    await setGroupMapping(c.var.db, group, ROLES.filter((r) => form[`role_${r}`] === '1'));
    return done(c, '/admin/sso', 'notice.mappingSaved');
  });
}
