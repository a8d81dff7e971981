/**
 * The app's logger class as the compiled app loads it, for the entry points. They import Nest lazily with real
 * import()s (module node20), which take a dual package's ES module build — nestjs-pino ships both — while the
 * compiled CommonJS modules require() its CommonJS build: two different `Logger` classes, and `app.get()` of the ES
 * one finds no such provider (the worker stopped at start). Imported through this CommonJS module, the entry points
 * get the class the app registered.
 */
export { Logger as AppLogger } from 'nestjs-pino';
