/**
 * The API reference page: Scalar's offline bundle rendering the spec, with Try-It. Scalar's
 * defaults reach out to the internet in several ways, each switched off here, because the docs
 * must work on an air-gapped install and must not leak the spec or credentials:
 * - `withDefaultFonts: false`: otherwise it loads Inter and JetBrains Mono from fonts.scalar.com;
 * - `proxyUrl: ''`: left undefined, the web layout routes Try-It requests through
 *   proxy.scalar.com; an empty string sends them straight to the API;
 * - `agent.disabled`: on localhost the "Ask AI" agent is on by default, and queries api.scalar.com
 *   (through proxy.scalar.com) as soon as the page loads;
 * - `showDeveloperTools: 'never'`: on localhost its toolbar offers to "Share" the spec, which
 *   uploads it to api.scalar.com;
 * - `hideClientButton`: the "Open API Client" button links to client.scalar.com with the spec URL;
 * - `telemetry: false`.
 * Try-It targets the page's own origin (`servers` is set in the browser), which is the API
 * itself when the server serves the docs. The page has no inline script: the configuration is a
 * JSON data block that assets/reference.js hands to Scalar, so the server's Content Security
 * Policy can allow scripts from its own origin only.
 */
import type { Guide } from './guides';
import { escapeHtml, renderLayout } from './layout';
import type { SiteLinks } from './links';

function scalarConfiguration(links: SiteLinks) {
  return {
    url: links.spec,
    withDefaultFonts: false,
    proxyUrl: '',
    agent: { disabled: true },
    showDeveloperTools: 'never',
    hideClientButton: true,
    telemetry: false,
    authentication: { preferredSecurityScheme: 'bearerAuth' },
  };
}

/** JSON that is safe inside a `<script>` data block (no `</script>` or `<!--` can appear). */
const scriptJson = (value: unknown): string => JSON.stringify(value).replace(/</g, '\\u003c');

function authNote(links: SiteLinks): string {
  const guide = (slug: string, label: string) => `<a href="${escapeHtml(links.guide(slug))}">${label}</a>`;
  return `<aside class="auth-note" aria-label="How to authenticate">
<p><strong>Authenticating in Try-It.</strong> Sign in with <code>POST /v1/auth/login</code> (open it below and press
<em>Test Request</em>, or run <code>curl -X POST "$MERIDIAN_URL/v1/auth/login" -H 'Content-Type: application/json'
-d '{"username":"…","password":"…"}'</code>), copy the <code>token</code> from the response (<code>mst_…</code>, or use an
API token <code>mtk_…</code>) and paste it into the <em>Bearer Token</em> field under <em>Authentication</em>. Until you do,
Try-It sends an empty bearer header, which the API treats as no credentials (<code>401 unauthenticated</code>).
Requests go straight from your browser to this server.</p>
<p class="auth-note-guides">More in the ${guide('quick-start', 'quick start')} and the ${guide('authentication', 'authentication guide')}.</p>
</aside>`;
}

export function renderReferencePage(guides: readonly Guide[], links: SiteLinks): string {
  return renderLayout(guides, links, {
    title: 'API reference',
    current: 'reference',
    head: `<link rel="stylesheet" href="${escapeHtml(links.asset('style.css'))}">`,
    body: `${authNote(links)}
<div id="app"></div>
<script id="scalar-configuration" type="application/json">${scriptJson(scalarConfiguration(links))}</script>
<script src="${escapeHtml(links.asset('standalone.js'))}"></script>
<script src="${escapeHtml(links.asset('reference.js'))}"></script>`,
  });
}
