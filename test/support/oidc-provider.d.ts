/**
 * The little of oidc-provider (an OpenID provider, which ships no type declarations) that
 * test/oidc-sign-in.test.ts uses.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

  interface Grant {
    addOIDCScope(scope: string): void;
    save(): Promise<string>;
  }

  export interface KoaContextWithOIDC {
    oidc: {
      provider: Provider;
      client?: { clientId: string };
      session?: { accountId?: string };
    };
  }

  export interface Account {
    accountId: string;
    claims(): Record<string, unknown> | Promise<Record<string, unknown>>;
  }

  /** What an interaction ends with: the login (with the authentication methods it used, `amr`), …. */
  export interface InteractionResults {
    login?: { accountId: string; amr?: string[]; acr?: string; remember?: boolean };
    [prompt: string]: unknown;
  }

  export default class Provider {
    constructor(
      issuer: string,
      configuration: {
        clients: Record<string, unknown>[];
        claims?: Record<string, string[] | null>;
        findAccount(ctx: KoaContextWithOIDC, id: string): Account | Promise<Account | undefined>;
        loadExistingGrant?(ctx: KoaContextWithOIDC): Promise<Grant | undefined>;
        features?: Record<string, unknown>;
        cookies?: { keys: string[] };
      },
    );
    Grant: new (init: {
      clientId: string;
      accountId: string;
    }) => Grant;
    callback(): RequestListener;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResults,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
  }
}
