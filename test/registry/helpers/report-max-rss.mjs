// Preloaded (`node --import`) into a CLI child by measure.ts: prints the kernel's peak RSS
// of the process (getrusage ru_maxrss, KiB) as the last line of stderr when it exits.
import { writeSync } from 'node:fs';

process.on('exit', () => writeSync(2, `MAXRSS_KIB ${process.resourceUsage().maxRSS}\n`));
