import { DomainError } from '../http/problem.js';

/** One `attribute eq "value"` clause: the filters identity providers send (RFC 7644 §3.4.2.2). */
export interface EqFilter {
  attribute: string;
  value: string;
}

const EQ = /^\s*([A-Za-z][\w.]*)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$/i;

export function parseFilter(filter: string | undefined, attributes: readonly string[]): EqFilter | undefined {
  if (filter === undefined || filter.trim() === '') return undefined;
  const match = EQ.exec(filter);
  const invalid = (detail: string) => new DomainError('validation_failed', detail, { scimType: 'invalidFilter' });
  if (!match) throw invalid(`filter must be one clause of the form attribute eq "value" (got ${JSON.stringify(filter.slice(0, 100))})`);
  const attribute = attributes.find((a) => a.toLowerCase() === match[1]!.toLowerCase());
  if (!attribute) throw invalid(`filtering by ${match[1]} is not supported; use one of ${attributes.join(', ')}`);
  return { attribute, value: match[2]!.replace(/\\(.)/g, '$1') };
}
