import { randomBytes } from 'node:crypto';
import { type Keys, type RedisClient, unwrap } from '@oncehook/shared';
import { PermanentError } from '../engine/workflow.ts';
import { type CreatePayment, IDEMPOTENCY_METADATA, type Payment, type PaymentsApi } from './payments.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

interface StoredPayment {
  id: string;
  amount: number;
  currency: string;
  status: string;
  metadata: Record<string, string>;
}

/**
 * A payments API in Redis for a first run without PAYMENTS_URL, idempotent the way Stripe is: the
 * same key within 24 hours returns the same payment, the same key with other parameters is refused,
 * and the payment stays findable by its metadata after the key is forgotten.
 */
export function simulatedPayments(redis: RedisClient, keys: Keys): PaymentsApi {
  return {
    kind: 'simulator',
    async create(req: CreatePayment): Promise<Payment> {
      const fresh: StoredPayment = {
        id: `pi_sim_${randomBytes(12).toString('hex')}`,
        amount: req.amount,
        currency: req.currency.toLowerCase(),
        status: 'succeeded',
        metadata: { ...req.metadata, [IDEMPOTENCY_METADATA]: req.idempotencyKey },
      };
      const key = keys.simulatedPayment(req.idempotencyKey);
      const json = JSON.stringify(fresh);
      const [, storedJson] = unwrap(await redis.multi().set(key, json, 'PX', DAY_MS, 'NX').get(key).exec());
      const stored = JSON.parse(String(storedJson)) as StoredPayment;
      if (stored.amount !== fresh.amount || stored.currency !== fresh.currency) {
        throw new PermanentError('idempotency key reused with different parameters');
      }
      await redis.set(
        keys.simulatedPaymentByKey(req.idempotencyKey),
        storedJson as string,
        'PX',
        30 * DAY_MS,
        'NX',
      );
      return toPayment(stored, stored.id !== fresh.id);
    },
    async findByIdempotencyKey(idempotencyKey: string): Promise<Payment | null> {
      const json = await redis.get(keys.simulatedPaymentByKey(idempotencyKey));
      return json ? toPayment(JSON.parse(json) as StoredPayment, true) : null;
    },
  };
}

const toPayment = ({ id, amount, currency, status }: StoredPayment, replayed: boolean): Payment => ({
  id,
  amount,
  currency,
  status,
  replayed,
});
