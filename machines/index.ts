// The statecharts tabvisor runs, exported for src/ (which provides the side effects), the
// inspector and the tests.
export * from './options.js';
export * from './policy.js';
export * from './loops.js';
export * from './states.js';
export * from './tab.machine.js';
export * from './instance.machine.js';
export * from './supervisor.machine.js';
