// HTML built by a tagged template that escapes every interpolated value. The only way to insert
// markup unescaped is a value that is itself the result of `html` (or `raw` on a constant we
// wrote), so a user string can never become markup: `html`<td>${user.name}</td>``.
// Chosen over a template engine: pages are small, the compiler checks every field, and there is
// no template source that could come from anywhere but this repository (docs/web.md).

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

function render(v: HtmlValue): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  // SECURITY: every other value is text
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new Html(out);
}

/** Markup we wrote ourselves (a constant), never data. */
export function raw(constant: string): Html {
  return new Html(constant);
}
