// The scanner's caps live with every other hard limit in src/config/limits.ts (LIMITS.scanner).
import { LIMITS as ALL } from '../config/limits.ts';

export const LIMITS = ALL.scanner;
