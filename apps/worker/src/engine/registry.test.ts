import { describe, expect, it } from 'vitest';
import { defineWorkflow } from './define-workflow.ts';
import { createRegistry } from './registry.ts';

const named = (name: string, on: { source: string; type: string }[]) =>
  defineWorkflow(name, on).step('s', () => null);

describe('the workflow registry', () => {
  it('matches triggers exactly, or by * patterns where * is any run of characters', () => {
    const registry = createRegistry([
      named('exact', [{ source: 'stripe', type: 'invoice.paid' }]),
      named('sessions', [{ source: 'stripe', type: 'checkout.session.*' }]),
      named('orders', [{ source: 'shop*', type: 'orders/*' }]),
      named('all', [{ source: '*', type: '*' }]),
    ]);
    const names = (source: string, type: string) => registry.forEvent(source, type).map((wf) => wf.name);
    expect(names('stripe', 'invoice.paid')).toEqual(['exact', 'all']);
    expect(names('stripe', 'invoice.paid.extra')).toEqual(['all']);
    expect(names('stripe', 'checkout.session.completed')).toEqual(['sessions', 'all']);
    expect(names('stripe', 'checkout.sessionX')).toEqual(['all']);
    expect(names('shopify', 'orders/create')).toEqual(['orders', 'all']);
    expect(names('shopify', 'orders/paid/partially')).toEqual(['orders', 'all']);
    expect(names('github', 'push')).toEqual(['all']);
  });

  it('reads the rest of a pattern literally', () => {
    const registry = createRegistry([named('dots', [{ source: 'demo', type: 'a.b(c)*' }])]);
    expect(registry.forEvent('demo', 'a.b(c)d')).toHaveLength(1);
    expect(registry.forEvent('demo', 'aXb(c)d')).toHaveLength(0);
  });

  it('stops the worker on every bad definition at once', () => {
    expect(() => createRegistry([named('Bad', []), named('a', []), named('a', [])])).toThrow(
      /invalid workflow name "Bad"[\s\S]*two workflows named "a"/,
    );
  });
});
