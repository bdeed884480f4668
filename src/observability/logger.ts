import { pino, type Logger as PinoLogger, type LevelWithSilent } from 'pino';
import { modelLogTap } from './model-log.js';

export type Logger = PinoLogger;

/**
 * Structured JSON logs on stderr; secrets in headers are redacted at the source. A copy
 * of each line about a model feeds that model's recent-log ring (`inferd logs`).
 */
export function createLogger(level: LevelWithSilent = 'info'): Logger {
  return pino(
    {
      level,
      base: { service: 'inferd' },
      redact: { paths: ['req.headers.authorization', 'headers.authorization', 'req.headers["x-api-key"]', 'headers["x-api-key"]', 'req.headers.cookie', '*.apiKey', '*.secretAccessKey', '*.token', '*.password'], censor: '[redacted]' },
    },
    pino.multistream([{ level, stream: pino.destination({ dest: 2, sync: false }) }, { level, stream: modelLogTap() }]),
  );
}
