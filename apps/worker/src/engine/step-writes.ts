import { keySlot } from '@oncehook/shared';
import type { WriteBatch } from './step-commit.ts';
import type { StepWrites } from './workflow.ts';

export interface WriteOp {
  command: 'RPUSH' | 'LTRIM' | 'HINCRBY' | 'HSET' | 'INCRBY' | 'SADD';
  key: string;
  args: string[];
}

/**
 * Collects a step's Redis writes instead of sending them, so that the engine can commit them with
 * the step's marker in one script (step-commit.ts). Nothing is written if the step throws.
 */
export class StepWriteBuffer implements StepWrites {
  readonly ops: WriteOp[] = [];

  rpush(key: string, ...values: string[]) {
    this.ops.push({ command: 'RPUSH', key, args: values });
  }
  ltrim(key: string, start: number, stop: number) {
    this.ops.push({ command: 'LTRIM', key, args: [integer(start), integer(stop)] });
  }
  hincrby(key: string, field: string, by: number) {
    this.ops.push({ command: 'HINCRBY', key, args: [field, integer(by)] });
  }
  hset(key: string, field: string, value: string) {
    this.ops.push({ command: 'HSET', key, args: [field, value] });
  }
  incrby(key: string, by: number) {
    this.ops.push({ command: 'INCRBY', key, args: [integer(by)] });
  }
  sadd(key: string, ...members: string[]) {
    this.ops.push({ command: 'SADD', key, args: members });
  }

  /** The writes as one batch for the commit script; none if the step wrote nothing. */
  batch(step: string): WriteBatch | undefined {
    if (this.ops.length === 0) return undefined;
    const keys = [...new Set(this.ops.map((op) => op.key))];
    const ops = this.ops.map((op) => [op.command, keys.indexOf(op.key), ...op.args]);
    return { keys, ops, slot: this.slot(step, keys) };
  }

  /** The one Redis Cluster slot all writes share; a step writing across slots could not commit atomically. */
  private slot(step: string, keys: string[]): number {
    const slots = new Set(keys.map(keySlot));
    const [slot] = slots;
    if (slots.size !== 1 || slot === undefined) {
      throw new Error(`step "${step}" writes keys of ${slots.size} hash slots; give them one {tag}`);
    }
    return slot;
  }
}

function integer(n: number): string {
  if (!Number.isSafeInteger(n)) throw new Error(`not a safe integer: ${n}`);
  return String(n);
}
