import { randomUUID } from 'node:crypto';

/** A fresh QUEUE_PREFIX, so that no two tests (or engineers) ever share keys. */
export const randomPrefix = (tag = 't') => `${tag}${randomUUID().slice(0, 8)}`;
