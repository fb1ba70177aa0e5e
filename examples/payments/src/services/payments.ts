/**
 * The payments API the charge step talks to: a Stripe-compatible HTTP API (stripe-payments.ts) or,
 * when PAYMENTS_URL is unset, a simulator in Redis with Stripe's idempotency behaviour.
 */
export interface Payment {
  id: string;
  /** Minor units. */
  amount: number;
  /** Lower-case, as Stripe returns it. */
  currency: string;
  status: string;
  /** The API answered with the object an earlier request with the same key created. */
  reused: boolean;
}

export interface CreatePayment {
  amount: number;
  currency: string;
  idempotencyKey: string;
  description: string;
  metadata: Record<string, string>;
}

export interface PaymentsApi {
  readonly kind: 'stripe' | 'simulator';
  create(request: CreatePayment): Promise<Payment>;
  /**
   * The payment created with this idempotency key, found by its metadata. Stripe forgets
   * idempotency keys after 24 hours; this is how a retry after that still finds its payment.
   */
  findByIdempotencyKey(key: string): Promise<Payment | null>;
}

/** The metadata field every payment is tagged with. */
export const IDEMPOTENCY_METADATA = 'oncehook_idempotency_key';
