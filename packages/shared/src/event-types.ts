/**
 * Event types both apps agree on beyond what providers name themselves.
 *
 * Stripe's thin events (`object: "v2.core.event"`) carry only a reference to the object they are
 * about. The ingest records them as `thin:<type>`, so that a workflow written for the snapshot
 * event of the same name (whose body holds the object) can never be handed one; a workflow for
 * thin events registers for this type and fetches the object first.
 */
export const thinEventType = (type: string) => `thin:${type}`;
