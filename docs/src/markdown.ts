/**
 * Guide markdown to HTML, with two additions the guides rely on:
 * - headings get ids, so sections can be linked (problem `type`s in the spec point at
 *   `/docs/guides/errors#<code>`, and the errors guide titles each code's section with it);
 * - links to sibling guides are written `errors.md` (which also works when reading the files in
 *   the repository) and point at wherever that guide is rendered.
 */
import { Marked } from 'marked';

const SIBLING_GUIDE = /^([a-z0-9-]+)\.md(#[\w-]*)?$/;

/** `` `not_found` `` → `not_found`, `Sessions and API tokens` → `sessions-and-api-tokens`. */
export const headingId = (text: string): string =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '-')
    .replace(/^-+|-+$/g, '');

export function renderMarkdown(markdown: string, guideHref: (slug: string) => string): string {
  const marked = new Marked({
    renderer: {
      heading({ tokens, depth, text }) {
        return `<h${depth} id="${headingId(text)}">${this.parser.parseInline(tokens)}</h${depth}>\n`;
      },
    },
    walkTokens(token) {
      if (token.type !== 'link') return;
      const sibling = SIBLING_GUIDE.exec(token.href);
      if (sibling?.[1] !== undefined) token.href = `${guideHref(sibling[1])}${sibling[2] ?? ''}`;
    },
  });
  return marked.parse(markdown, { async: false });
}
