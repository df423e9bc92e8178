/**
 * The command registry: each command lives in its own file and exports
 * `register(program)`. Adding a command is one import and one line here.
 */
import type { Command } from 'commander';
import * as ingest from './ingest.js';
import * as list from './list.js';
import * as info from './info.js';
import * as path from './path.js';
import * as cat from './cat.js';
import * as del from './delete.js';
import * as active from './active.js';
import * as abort from './abort.js';
import * as prune from './prune.js';
import * as add from './add.js';
import * as verify from './verify.js';
import * as fetch from './fetch.js';
import * as pull from './pull.js';
import * as push from './push.js';
import * as copy from './copy.js';
import * as images from './images.js';
import * as apply from './apply.js';
import * as unpack from './unpack.js';
import * as bundle from './bundle.js';
import * as snapshots from './snapshots.js';
import * as label from './label.js';
import * as lease from './lease.js';
import * as gc from './gc.js';
import * as serve from './serve.js';
import * as plugins from './plugins.js';

export const commands: Array<{ register(program: Command): void }> = [ingest, list, info, path, cat, del, active, abort, prune, add, verify, fetch, pull, push, copy, images, apply, unpack, bundle, snapshots, label, lease, gc, serve, plugins];
