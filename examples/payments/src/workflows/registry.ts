import type { WorkflowDefinition } from '@oncehook/worker';
import type { Services } from '../services/index.ts';
import { githubPush } from './github-push.ts';
import { payment } from './payment.ts';
import { stripeCheckout } from './stripe-checkout.ts';
import { stripeThinCheckout } from './stripe-thin-checkout.ts';
import { subscriptionMirror } from './subscription-mirror.ts';

/**
 * Every workflow this worker runs; each one says which (source, event type) it handles. Adding a
 * workflow is one file in this folder and one line here. Several workflows may handle one event
 * type: each then runs on its own, with its own markers and retries. Events no workflow handles
 * are recorded as `ignored`.
 */
export const WORKFLOWS = [
  payment,
  stripeCheckout,
  stripeThinCheckout,
  githubPush,
  subscriptionMirror,
] satisfies WorkflowDefinition<Services>[];
