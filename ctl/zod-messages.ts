// zod/mini says only "Invalid input" unless a locale is loaded; egressctl is a process of its own
// (no bundle to keep small), so it loads zod's English messages for every schema it checks.
import * as z from 'zod/mini';

z.config(z.locales.en());
