import type { ServicesContext, StepContext } from '@oncehook/worker';
import type { DemoEnv } from '../env.ts';
import { type DemoKeys, demoKeys } from '../keys.ts';
import { httpMailer, type Mailer } from './mailer.ts';
import { simulatedMailer } from './mailer-simulator.ts';
import type { PaymentsApi } from './payments.ts';
import { simulatedPayments } from './payments-simulator.ts';
import { noStripeObjects, type StripeObjects, stripeObjects } from './stripe-objects.ts';
import { stripePayments } from './stripe-payments.ts';
import { type StripeSubscriptions, stripeSubscriptions } from './stripe-subscriptions.ts';

/** What steps reach through `ctx.services`: created once at start-up, injected into every step. */
export interface Services {
  keys: DemoKeys;
  payments: PaymentsApi;
  mailer: Mailer;
  /** The objects Stripe's thin events refer to (PAYMENTS_URL, or none). */
  stripeObjects: StripeObjects;
  /** Subscriptions for the subscription mirror (PAYMENTS_URL, or none: snapshots only). */
  subscriptions: StripeSubscriptions;
}

/** The context a shared step helper accepts, whatever workflow it is used in. */
export type WorkerStepContext = StepContext<Services, object>;

export function createServices(config: DemoEnv, { config: worker, redis, log }: ServicesContext): Services {
  const keys = demoKeys(worker.QUEUE_PREFIX);
  return {
    keys,
    payments: config.PAYMENTS_URL
      ? stripePayments(config.PAYMENTS_URL, config.PAYMENTS_API_KEY)
      : simulatedPayments(redis, keys),
    mailer: config.MAILER_URL ? httpMailer(config.MAILER_URL) : simulatedMailer(redis, keys, log),
    stripeObjects: config.PAYMENTS_URL
      ? stripeObjects(config.PAYMENTS_URL, config.PAYMENTS_API_KEY)
      : noStripeObjects,
    subscriptions: stripeSubscriptions(redis, config.PAYMENTS_URL, config.PAYMENTS_API_KEY),
  };
}
