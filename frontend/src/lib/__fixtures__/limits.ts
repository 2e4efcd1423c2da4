/** An answer of GET /api/v1/limits/ (workflows/bounds.py's limits() with the default settings). */
import type { Limits } from "../types";

export const LIMITS = {
  max_retries: { min: 0, max: 100 },
  retry_base_delay: { min: 0, max: 604800 },
  retry_max_delay: { min: 0, max: 604800 },
  retry_backoff_factor: { min: 1, max: 10 },
  timeout_seconds: { min: 1, max: 604800 },
  step_key: {
    min: 1, max: 100, pattern: "^[A-Za-z_][A-Za-z0-9_]{0,99}$",
    message: "use letters, digits and underscores, starting with a letter or underscore",
  },
} satisfies Limits;
