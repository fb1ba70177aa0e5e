export * from './config.ts';
export * from './event-record.ts';
export * from './job.ts';
export * from './job-id.ts';
export * from './keys.ts';
export * from './logger.ts';
export * from './queues.ts';
export * from './redis.ts';
