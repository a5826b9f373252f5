// Public API of the runner.
export { runScenarios, reproduceCommand, scenarioInfoOf, type RunOptions, type AfterOperationContext } from './runner.ts';
export { runCommand, RUN_USAGE, type RunCommandIo, SCENARIO_RUN_OPTIONS, scenarioRunFlags, loadScenarioPaths, interruptOnSigint, toolVersion, type ScenarioRunFlags } from './command.ts';
export { registerBackend, getBackend, backends, createBackendRegistry, UnknownBackendError, type BackendRegistry } from './registry.ts';
export { WaitTimeoutError, ExpectationError, ExecError, SysfsError, InterruptedError, ScenarioError, toResultError } from './errors.ts';
export { realClock, type Clock } from './clock.ts';
export { scenarioSeed, randomSeed, parseSeed } from './seed.ts';
export { globToRegExp, matchesFilter } from './glob.ts';
export { splitCommandLine, joinCommandLine, shellQuote, CommandLineError } from './shell-words.ts';
