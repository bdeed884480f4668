import { pino, type Logger as PinoLogger, type LevelWithSilent } from 'pino';

export type Logger = PinoLogger;

/** Structured JSON logs on stderr; secrets in headers are redacted at the source. */
export function createLogger(level: LevelWithSilent = 'info'): Logger {
  return pino(
    {
      level,
      base: { service: 'inferd' },
      redact: { paths: ['req.headers.authorization', 'headers.authorization', 'req.headers["x-api-key"]', 'headers["x-api-key"]', 'req.headers.cookie', '*.apiKey', '*.secretAccessKey', '*.token', '*.password'], censor: '[redacted]' },
    },
    pino.destination({ dest: 2, sync: false }),
  );
}
