import { randomBytes } from 'node:crypto';
import { PermanentError, type RedisClient } from '@oncehook/worker';
import type { DemoKeys } from '../keys.ts';
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
// Stripe's behaviour in one round trip: the key's payment if there is one, else this one, kept by
// key for 24 h and findable by its metadata for 30 days (both keys share the key's hash slot).
const CREATE = `
local stored = redis.call('GET', KEYS[1])
if stored then return stored end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3], 'NX')
return ARGV[1]
`;

export function simulatedPayments(redis: RedisClient, keys: DemoKeys): PaymentsApi {
  return {
    kind: 'simulator',
    async create(req: CreatePayment): Promise<Payment> {
      const fresh: StoredPayment = {
        id: `pi_sim_${randomBytes(8).toString('hex')}`,
        amount: req.amount,
        currency: req.currency.toLowerCase(),
        status: 'succeeded',
        metadata: { ...req.metadata, [IDEMPOTENCY_METADATA]: req.idempotencyKey },
      };
      const storedJson = (await redis.eval(
        CREATE,
        2,
        keys.simulatedPayment(req.idempotencyKey),
        keys.simulatedPaymentByKey(req.idempotencyKey),
        JSON.stringify(fresh),
        DAY_MS,
        30 * DAY_MS,
      )) as string;
      const stored = JSON.parse(storedJson) as StoredPayment;
      if (stored.amount !== fresh.amount || stored.currency !== fresh.currency) {
        throw new PermanentError('idempotency key reused with different parameters');
      }
      return toPayment(stored, stored.id !== fresh.id);
    },
    async findByIdempotencyKey(idempotencyKey: string): Promise<Payment | null> {
      const json = await redis.get(keys.simulatedPaymentByKey(idempotencyKey));
      return json ? toPayment(JSON.parse(json) as StoredPayment, true) : null;
    },
  };
}

const toPayment = ({ id, amount, currency, status }: StoredPayment, reused: boolean): Payment => ({
  id,
  amount,
  currency,
  status,
  reused,
});
