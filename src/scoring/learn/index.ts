/** Learning scorecards from renewal outcomes: the pure maths (no I/O). */
export { FitError, fitMeasures } from './fit.js';
export type { FitCandidate, FitInput, FitObservation, FitOptions, FitResult, FittedMeasure, Group } from './fit.js';
export { isotonic } from './isotonic.js';
export { fitLogistic, sigmoid } from './logistic.js';
export type { LogisticFit, LogisticOptions } from './logistic.js';
export { aucInterval, caughtShare, liftAtTop, prAuc, rateAmong, rocAuc } from './metrics.js';
