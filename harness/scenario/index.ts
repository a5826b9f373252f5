// Public API of the scenario language.
export { parseScenario, loadScenario, defineScenario, findScenarioFiles, resourcesOf, ScenarioValidationError, formatIssue, type Issue } from './load.ts';
export { partialMatch, matchScalar, parsePlaceholder, placeholderProblem, expectationProblems, type MatchResult, type Mismatch, type Placeholder } from './match.ts';
export { scenarioSchema, scenarioSchemaJson, SCENARIO_SCHEMA_FILE } from './schema.ts';
export * from './types.ts';
