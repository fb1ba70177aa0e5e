/**
 * The exactly-once accept path, for what feeds events in without an HTTP delivery: the reconciler
 * lists a provider's events and accepts each as if it had been delivered.
 */
export { type AcceptDeps, acceptEvent } from './accept.ts';
export { PROVIDERS } from './providers/registry.ts';
export { stripeOrdering } from './providers/stripe.ts';
export { checkEventId, checkEventType } from './verify/json-body.ts';
