import { BUILT_IN_SOURCES, ConfigError, customSourceNames } from '@oncehook/shared';
import { STEP_NAME, WORKFLOW_NAME, type WorkflowDefinition } from './workflow.ts';

export interface WorkflowRegistry<Services> {
  /** The workflows to run for an event, in registration order (empty: the event is ignored). */
  forEvent(source: string, type: string): readonly WorkflowDefinition<Services>[];
  byName(name: string): WorkflowDefinition<Services> | undefined;
  readonly all: readonly WorkflowDefinition<Services>[];
}

/** Checks the definitions once at start-up: a bad name must stop the worker, not fail jobs later. */
export function createRegistry<Services>(
  workflows: readonly WorkflowDefinition<Services>[],
): WorkflowRegistry<Services> {
  const byName = new Map<string, WorkflowDefinition<Services>>();
  const byEvent = new Map<string, WorkflowDefinition<Services>[]>();
  for (const wf of workflows) {
    if (!WORKFLOW_NAME.test(wf.name)) throw new Error(`invalid workflow name "${wf.name}"`);
    if (byName.has(wf.name)) throw new Error(`two workflows named "${wf.name}"`);
    if (wf.steps.length === 0) throw new Error(`workflow "${wf.name}" has no steps`);
    // The last step's commit completes the run: it must be one that commits.
    if (wf.steps.at(-1)?.pure) throw new Error(`workflow "${wf.name}": its last step cannot be pure`);
    const steps = new Set<string>();
    for (const step of wf.steps) {
      if (!STEP_NAME.test(step.name)) throw new Error(`workflow "${wf.name}": invalid step "${step.name}"`);
      if (steps.has(step.name)) throw new Error(`workflow "${wf.name}": two steps named "${step.name}"`);
      steps.add(step.name);
    }
    byName.set(wf.name, wf);
    for (const on of wf.on) {
      const key = eventKey(on.source, on.type);
      byEvent.set(key, [...(byEvent.get(key) ?? []), wf]);
    }
  }
  return {
    forEvent: (source, type) => byEvent.get(eventKey(source, type)) ?? [],
    byName: (name) => byName.get(name),
    all: workflows,
  };
}

/**
 * Every trigger names a source the ingest can serve: a built-in provider, or a custom source of
 * SOURCES_FILE. A typo would otherwise leave the events it meant `ignored`, silently.
 */
export function checkTriggers(workflows: readonly WorkflowDefinition<unknown>[], sourcesFile?: string) {
  const known = new Set<string>([
    ...BUILT_IN_SOURCES,
    ...(sourcesFile ? customSourceNames(sourcesFile) : []),
  ]);
  const problems = workflows.flatMap((wf) =>
    wf.on
      .filter((on) => !known.has(on.source))
      .map(
        (on) =>
          `workflow "${wf.name}": no source named "${on.source}" (built-in: ${BUILT_IN_SOURCES.join(', ')}; custom ones come from SOURCES_FILE${sourcesFile ? '' : ', which is not set'})`,
      ),
  );
  if (problems.length > 0) throw new ConfigError(problems);
}

// Sources never contain a space (event-tag.ts); types may contain anything else (`orders/create`).
const eventKey = (source: string, type: string) => `${source} ${type}`;
