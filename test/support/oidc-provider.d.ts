/**
 * The little of oidc-provider (an OpenID provider, which ships no type declarations) that
 * test/oidc-sign-in.test.ts uses.
 */
declare module 'oidc-provider' {
  import type { RequestListener } from 'node:http';

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

  export default class Provider {
    constructor(
      issuer: string,
      configuration: {
        clients: Record<string, unknown>[];
        claims?: Record<string, string[]>;
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
  }
}
