/** @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx';

/** A form's error, announced to screen readers; nothing when there is none. */
export function ErrorBox({ error }: { error?: Child }) {
  if (!error) return null;
  return (
    <p class="error-box" role="alert">
      {error}
    </p>
  );
}

/** A labelled choice among fixed values, each shown in the reader's language. */
export function Choice<T extends string>(props: { label: Child; name: string; options: readonly T[]; text: (option: T) => string; selected?: T }) {
  return (
    <label>
      {props.label}{' '}
      <select name={props.name}>
        {props.options.map((o) => (
          <option value={o} selected={o === props.selected}>
            {props.text(o)}
          </option>
        ))}
      </select>
    </label>
  );
}
