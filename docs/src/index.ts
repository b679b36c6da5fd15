/**
 * @meridian/docs: the docs site as an Express router, mounted by the server at `/docs`:
 * - `/` the API reference (Scalar, offline) with Try-It against this server;
 * - `/assets/<file>` Scalar's bundle and the site stylesheet;
 * - `/guides` and `/guides/<name>` the guides, rendered from docs/guides/*.md.
 * The static build (build.ts) writes the same pages to files.
 */
import { Router, type Request, type Response } from 'express';
import { ASSETS, isAssetName } from './assets';
import { renderGuideNotFound, renderGuidePage, renderGuidesIndex } from './guide-pages';
import { loadGuides } from './guides';
import { routerLinks } from './links';
import { renderReferencePage } from './reference-page';

const sendHtml = (res: Response, html: string): void => {
  res.type('html').send(html);
};

export function createDocsRouter(): Router {
  const guides = loadGuides();
  const linksFor = (req: Request) => routerLinks(req.baseUrl);
  const router = Router();

  router.get('/', (req, res) => sendHtml(res, renderReferencePage(guides, linksFor(req))));

  router.get('/assets/:name', (req, res, next) => {
    const { name } = req.params;
    if (!isAssetName(name)) return next();
    res.sendFile(ASSETS[name]);
  });

  router.get('/guides', (req, res) => sendHtml(res, renderGuidesIndex(guides, linksFor(req))));

  router.get('/guides/:name', (req, res) => {
    // Looked up by name among the loaded guides only: the path never reaches the file system.
    const guide = guides.find((candidate) => candidate.slug === req.params.name);
    if (!guide) {
      res.status(404);
      return sendHtml(res, renderGuideNotFound(guides, linksFor(req)));
    }
    sendHtml(res, renderGuidePage(guides, linksFor(req), guide));
  });

  return router;
}
