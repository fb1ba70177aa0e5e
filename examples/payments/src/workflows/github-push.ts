import { z } from 'zod';
import { recordEvent } from '../steps/record.ts';
import { validate } from '../steps/validate.ts';
import { defineWorkflow } from '../workflow.ts';

const push = z.object({
  ref: z.string().max(255),
  repository: z.object({ full_name: z.string().max(255) }),
  commits: z.array(z.unknown()).default([]),
  pusher: z
    .object({ name: z.string().max(255) })
    .partial()
    .optional(),
});

/** An example for a source without money in it: keep a summary of each push, once. */
export const githubPush = defineWorkflow('github-push', { source: 'github', type: 'push' }).step(
  'record',
  (event, ctx) => {
    const body = validate(push, event.body, 'push event');
    return recordEvent(ctx, {
      repository: body.repository.full_name,
      ref: body.ref,
      commits: body.commits.length,
      pusher: body.pusher?.name ?? null,
    });
  },
);
