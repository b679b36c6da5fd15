/**
 * @meridian/mocks — mock Meridian APIs for tests and local development.
 *
 * - MSW handlers generated from the spec's examples: `createHandlers`, `handlers`,
 *   `errorResponse` (in-process, no server; for code that uses the SDK or plain fetch).
 * - Prism, the spec-driven mock server (it also checks requests and credentials):
 *   `startPrism` from `@meridian/mocks/prism` (Node only), and `npm run mock` on the command line.
 *   In this repository only: the published package (mocks/scripts/build.ts) holds the MSW
 *   handlers and the `meridian-conformance` bin.
 */
export { createHandlers, handlers, type CreateHandlersOptions } from './handlers';
export { errorResponse } from './responses';
export type { ErrorStatus, OperationId } from './operations';
export { mockOperations } from './generated/handlers.gen';
export type { JsonValue, MockOperation, MockResponse } from './mock-operation';
