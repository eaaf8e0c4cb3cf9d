/** @jsxImportSource hono/jsx */
import type { Translator } from '../../i18n/index.js';
import type { Mapping, ScorecardDefinition } from '../../scoring/scorecard.js';
import { CsrfField } from '../layout.js';
import type { WebContext } from '../context.js';

/**
 * The scorecard editor with a field per measure (weight, mapping points,
 * direction, kept or not), and its reading back into a definition. Mappings
 * the fields cannot express (percentiles, fitted shapes of two features) are
 * kept as they are; the JSON editor still edits everything.
 */

type Direction = 'higher' | 'lower' | 'shape';

/** Steps of a mapping as [raw, score] pairs, or null where the mapping has none (percentile, or a type this editor does not know). */
function stepsOf(mapping: Mapping): [number, number][] | null {
  if (mapping.type === 'linear') return mapping.points.map(([x, y]) => [x, y]);
  if (mapping.type === 'bands') return mapping.bands.map((b) => [b.min, b.score]);
  return null;
}

function directionOf(steps: [number, number][]): Direction {
  const scores = steps.map((s) => s[1]);
  const up = scores.every((v, i) => i === 0 || v >= scores[i - 1]!);
  const down = scores.every((v, i) => i === 0 || v <= scores[i - 1]!);
  if (up && !down) return 'higher';
  if (down && !up) return 'lower';
  return up && down ? 'higher' : 'shape';
}

const formatSteps = (steps: [number, number][]) => steps.map(([x, y]) => `${x}:${y}`).join(', ');

function parseSteps(text: string): [number, number][] | string {
  const parts = text
    .split(/[,;\n]/)
    .map((p) => p.trim())
    .filter(Boolean);
  const steps: [number, number][] = [];
  for (const part of parts) {
    const m = /^(-?\d+(?:\.\d+)?)\s*[:→]\s*(-?\d+(?:\.\d+)?)$/.exec(part);
    if (!m) return part;
    steps.push([Number(m[1]), Number(m[2])]);
  }
  return steps;
}

export interface FieldError {
  measure?: string;
  message: string;
}

/** The definition the fields describe, starting from `base`; or the first fields that could not be read. */
export function definitionFromFields(base: ScorecardDefinition, form: Record<string, string>): { definition: ScorecardDefinition } | { errors: FieldError[] } {
  const errors: FieldError[] = [];
  const num = (name: string, fallback: number) => {
    const raw = form[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const v = Number(raw);
    if (!Number.isFinite(v)) errors.push({ message: `${name}: not a number` });
    return v;
  };
  let index = 0;
  const groups = base.groups
    .map((g) => ({
      ...g,
      measures: g.measures
        .map((m) => {
          const i = index++;
          if (form[`keep.${i}`] !== 'on') return null;
          const weight = num(`weight.${i}`, m.weight);
          let mapping: Mapping = m.mapping;
          const steps = stepsOf(m.mapping);
          if (steps) {
            const parsed = form[`points.${i}`] === undefined ? steps : parseSteps(form[`points.${i}`]!);
            if (typeof parsed === 'string') {
              errors.push({ measure: m.key, message: `“${parsed}” is not raw:score` });
              return { ...m, weight };
            }
            let next = parsed;
            const wanted = form[`direction.${i}`] as Direction | undefined;
            const now = directionOf(next);
            // Turning a measure round keeps its raw points and reverses which end scores well.
            if ((wanted === 'higher' || wanted === 'lower') && now !== 'shape' && wanted !== now && next.length > 1) {
              const scores = next.map((s) => s[1]).reverse();
              next = next.map(([x], k) => [x, scores[k]!]);
            }
            mapping = m.mapping.type === 'bands' ? { type: 'bands', bands: next.map(([min, score]) => ({ min, score })) } : { type: 'linear', points: next };
          } else if (m.mapping.type === 'percentile' && (form[`direction.${i}`] === 'higher' || form[`direction.${i}`] === 'lower')) {
            mapping = { type: 'percentile', higherIsBetter: form[`direction.${i}`] === 'higher' };
          }
          return { ...m, weight, mapping };
        })
        .filter((m) => m !== null),
    }))
    .filter((g) => g.measures.length > 0);
  const definition = {
    ...base,
    name: form.name?.trim() || base.name,
    bands: { green: num('bands.green', base.bands.green), red: num('bands.red', base.bands.red), hysteresis: num('bands.hysteresis', base.bands.hysteresis) },
    groups,
  } as ScorecardDefinition;
  return errors.length ? { errors } : { definition };
}

/** The fields: name and bands, then one row per measure. */
export function FieldEditor({ web, action, definition, segment, canEdit }: { web: WebContext; action: string; definition: ScorecardDefinition; segment: string | null; canEdit: boolean }) {
  const tr: Translator = web.tr;
  const { t } = tr;
  let index = 0;
  return (
    <form method="post" action={action} class="stack wide" data-testid="field-editor">
      <CsrfField web={web} />
      <input type="hidden" name="editor" value="fields" />
      {/* The definition these rows number, so a re-rendered preview saves what it shows. */}
      <input type="hidden" name="base" value={JSON.stringify(definition)} />
      <div class="filters">
        <label>
          {t('scorecards.name')}
          <input type="text" name="name" value={definition.name} readonly={!canEdit} />
        </label>
        <label>
          {t('scorecards.segment')}
          <input type="text" name="segment" value={segment ?? ''} readonly={!canEdit} />
        </label>
        <label>
          {t('scorecards.greenFrom')}
          <input type="number" name="bands.green" value={String(definition.bands.green)} min="0" max="100" step="any" readonly={!canEdit} />
        </label>
        <label>
          {t('scorecards.redBelow')}
          <input type="number" name="bands.red" value={String(definition.bands.red)} min="0" max="100" step="any" readonly={!canEdit} />
        </label>
        <label>
          {t('scorecards.hysteresis')}
          <input type="number" name="bands.hysteresis" value={String(definition.bands.hysteresis)} min="0" max="20" step="any" readonly={!canEdit} />
        </label>
      </div>
      <table>
        <caption class="left">{t('scorecards.fieldsHelp')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('scorecards.keep')}</th>
            <th scope="col">{t('proof.measure')}</th>
            <th scope="col">{t('proof.weight')}</th>
            <th scope="col">{t('proof.direction')}</th>
            <th scope="col">{t('scorecards.points')}</th>
          </tr>
        </thead>
        {definition.groups.map((g) => (
          <tbody>
            <tr>
              <th scope="colgroup" colspan={5} class="group" lang="en">
                {g.label}
              </th>
            </tr>
            {g.measures.map((m) => {
              const i = index++;
              const steps = stepsOf(m.mapping);
              const direction = steps ? directionOf(steps) : m.mapping.type === 'percentile' ? (m.mapping.higherIsBetter ? 'higher' : 'lower') : 'shape';
              const id = `m-${i}`;
              return (
                <tr data-measure={m.key}>
                  <td>
                    <input type="checkbox" name={`keep.${i}`} checked aria-label={t('scorecards.keepMeasure', { measure: m.label })} />
                  </td>
                  <td>
                    <label for={`${id}-w`} lang="en">
                      {m.label}
                    </label>
                    <div class="muted mono">{m.feature}</div>
                  </td>
                  <td>
                    <input id={`${id}-w`} type="number" name={`weight.${i}`} value={String(m.weight)} min="0.01" max="1000" step="any" class="narrow" readonly={!canEdit} />
                  </td>
                  <td>
                    {direction === 'shape' ? (
                      <span>{t('scorecards.dirShape')}</span>
                    ) : (
                      <select name={`direction.${i}`} aria-label={t('scorecards.directionOf', { measure: m.label })}>
                        <option value="higher" selected={direction === 'higher'}>
                          {t('scorecards.dirHigher')}
                        </option>
                        <option value="lower" selected={direction === 'lower'}>
                          {t('scorecards.dirLower')}
                        </option>
                      </select>
                    )}
                  </td>
                  <td>
                    {steps ? (
                      <input
                        type="text"
                        name={`points.${i}`}
                        value={formatSteps(steps)}
                        aria-label={t('scorecards.pointsOf', { measure: m.label })}
                        class="mono wide-input"
                        readonly={!canEdit}
                      />
                    ) : (
                      <code>{JSON.stringify(m.mapping).slice(0, 120)}</code>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        ))}
      </table>
      <div class="row">
        <button type="submit" name="intent" value="preview" class="secondary">
          {t('scorecards.preview')}
        </button>
        {canEdit ? (
          <button type="submit" name="intent" value="save">
            {t('scorecards.saveDraft')}
          </button>
        ) : null}
      </div>
    </form>
  );
}
