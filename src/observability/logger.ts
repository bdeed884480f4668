import { pino, type Logger as PinoLogger, type LevelWithSilent } from 'pino';

export type Logger = PinoLogger;

/** Structured JSON logs on stderr; secrets in headers are redacted at the source. */
export function createLogger(level: LevelWithSilent = 'info'): Logger {
  return pino(
    {
      level,
      base: { service: 'inferd' },
      redact: { paths: ['req.headers.authorization', 'headers.authorization', '*.apiKey', '*.secretAccessKey'], censor: '[redacted]' },
    },
    pino.destination({ dest: 2, sync: false }),
  );
}
