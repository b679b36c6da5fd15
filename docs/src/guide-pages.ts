/** The guide pages: each guide, the index of guides, and the page for a guide that does not exist. */
import type { Guide } from './guides';
import { escapeHtml, renderLayout } from './layout';
import type { SiteLinks } from './links';
import { renderMarkdown } from './markdown';

export function renderGuidePage(guides: readonly Guide[], links: SiteLinks, guide: Guide): string {
  return renderLayout(guides, links, {
    title: guide.title,
    current: guide.slug,
    body: `<main class="guide">\n${renderMarkdown(guide.markdown, links.guide)}</main>`,
  });
}

export function renderGuidesIndex(guides: readonly Guide[], links: SiteLinks): string {
  const items = guides.map(
    (guide) => `<li><a href="${escapeHtml(links.guide(guide.slug))}">${escapeHtml(guide.title)}</a></li>`,
  );
  return renderLayout(guides, links, {
    title: 'Guides',
    current: 'guides',
    body: `<main class="guide">
<h1>Guides</h1>
<p>How the Meridian API works across all its operations. The <a href="${escapeHtml(links.reference)}">API reference</a> documents each operation and lets you try it.</p>
<ul>
${items.join('\n')}
</ul>
</main>`,
  });
}

export function renderGuideNotFound(guides: readonly Guide[], links: SiteLinks): string {
  return renderLayout(guides, links, {
    title: 'Guide not found',
    current: '',
    body: `<main class="guide">
<h1>Guide not found</h1>
<p>There is no such guide. See the <a href="${escapeHtml(links.guidesIndex)}">list of guides</a>.</p>
</main>`,
  });
}
