import { BUILT_IN_SOURCES, ConfigError, customSourceNames } from '@oncehook/shared';
import { STEP_NAME, WORKFLOW_NAME, type WorkflowDefinition } from './workflow.ts';

export interface WorkflowRegistry<Services> {
  /** The workflows to run for an event, in registration order (empty: the event is ignored). */
  forEvent(source: string, type: string): readonly WorkflowDefinition<Services>[];
  byName(name: string): WorkflowDefinition<Services> | undefined;
  readonly all: readonly WorkflowDefinition<Services>[];
}

/**
 * Checks the definitions once at start-up: a bad name must stop the worker (exit 78, naming it),
 * not fail jobs later.
 */
export function createRegistry<Services>(
  workflows: readonly WorkflowDefinition<Services>[],
): WorkflowRegistry<Services> {
  const byName = new Map<string, WorkflowDefinition<Services>>();
  const problems: string[] = [];
  for (const wf of workflows) {
    if (!WORKFLOW_NAME.test(wf.name)) problems.push(`invalid workflow name "${wf.name}"`);
    if (byName.has(wf.name)) problems.push(`two workflows named "${wf.name}"`);
    if (wf.steps.length === 0) problems.push(`workflow "${wf.name}" has no steps`);
    // The last step's commit completes the run: it must be one that commits.
    if (wf.steps.at(-1)?.pure) problems.push(`workflow "${wf.name}": its last step cannot be pure`);
    const steps = new Set<string>();
    for (const step of wf.steps) {
      if (!STEP_NAME.test(step.name)) problems.push(`workflow "${wf.name}": invalid step "${step.name}"`);
      if (steps.has(step.name)) problems.push(`workflow "${wf.name}": two steps named "${step.name}"`);
      steps.add(step.name);
    }
    byName.set(wf.name, wf);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const matchers = workflows.map((wf) => {
    const on = wf.on.map((t) => ({ source: glob(t.source), type: glob(t.type) }));
    return (source: string, type: string) => on.some((t) => t.source(source) && t.type(type));
  });
  return {
    forEvent: (source, type) => workflows.filter((_, i) => matchers[i]?.(source, type)),
    byName: (name) => byName.get(name),
    all: workflows,
  };
}

/** A trigger's source or type: `*` matches any run of characters (`.` and `/` too), the rest itself. */
function glob(pattern: string): (value: string) => boolean {
  if (!pattern.includes('*')) return (value) => value === pattern;
  const escaped = pattern.split('*').map((part) => part.replace(/[\\^$.|?+()[\]{}]/g, '\\$&'));
  const re = new RegExp(`^${escaped.join('.*')}$`, 's');
  return (value) => re.test(value);
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
      .filter((on) => !known.has(on.source) && !on.source.includes('*'))
      .map(
        (on) =>
          `workflow "${wf.name}": no source named "${on.source}" (built-in: ${BUILT_IN_SOURCES.join(', ')}; custom ones come from SOURCES_FILE${sourcesFile ? '' : ', which is not set'})`,
      ),
  );
  if (problems.length > 0) throw new ConfigError(problems);
}
