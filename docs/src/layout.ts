/**
 * The HTML shell every page shares: head, the site header with its nav (the reference, the
 * guides index and each guide), and the page's own content.
 */
import type { Guide } from './guides';
import type { SiteLinks } from './links';

export const escapeHtml = (text: string): string =>
  text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');

export interface PageContent {
  title: string;
  /** The nav entry to mark as the current page: `reference`, `guides`, or a guide's slug. */
  current: string;
  /** Extra elements for `<head>` (stylesheets), as trusted HTML. */
  head?: string;
  /** The page body after the site header, as trusted HTML. */
  body: string;
}

function navLink(href: string, label: string, isCurrent: boolean): string {
  return `<a href="${escapeHtml(href)}"${isCurrent ? ' aria-current="page"' : ''}>${escapeHtml(label)}</a>`;
}

export function renderLayout(guides: readonly Guide[], links: SiteLinks, page: PageContent): string {
  const guideLinks = guides.map(
    (guide) => `<li>${navLink(links.guide(guide.slug), guide.title, page.current === guide.slug)}</li>`,
  );
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)} · Meridian API</title>
<link rel="icon" href="data:,">
${page.head ?? ''}
<link rel="stylesheet" href="${escapeHtml(links.asset('site.css'))}">
</head>
<body>
<header class="site-header">
<a class="site-brand" href="${escapeHtml(links.reference)}">Meridian API</a>
<nav aria-label="Documentation">
<ul>
<li>${navLink(links.reference, 'API reference', page.current === 'reference')}</li>
<li>${navLink(links.guidesIndex, 'Guides', page.current === 'guides')}</li>
${guideLinks.join('\n')}
</ul>
</nav>
</header>
${page.body}
</body>
</html>
`;
}
