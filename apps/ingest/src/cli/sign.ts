import { PROVIDER_LIST, PROVIDERS, type ProviderName } from '../providers/registry.ts';
import type { Delivery } from '../providers/types.ts';

export type { Delivery } from '../providers/types.ts';

/**
 * Signs a delivery the way each provider does, with the provider's own library where it has one:
 * for the `webhook:send` tool, and for tests that need a valid delivery. Each provider module
 * carries its own signer; this is only their index.
 */
type Signer = (d: Delivery) => Promise<Record<string, string>>;

export const SIGNERS = Object.fromEntries(PROVIDER_LIST.map((p) => [p.name, p.sign])) as Record<
  ProviderName,
  Signer
>;

export type SignedSource = ProviderName;
export const isSignedSource = (s: string): s is SignedSource => Object.hasOwn(PROVIDERS, s);
