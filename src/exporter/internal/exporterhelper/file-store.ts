// The on-disk half of a persistent sending queue: one file per queued item,
// written to a temporary name and renamed, so a crash (kill -9) at any point
// leaves either the whole item or nothing. Files are named by a sequence number
// so a restart replays them in order. The page cache is enough for a process
// crash; there is no fsync, so a power loss can lose the last items.

import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const NAME = /^item-(\d{16})\.json$/;

export interface StoredItem {
  file: string;
  text: string;
}

export class FileStore {
  readonly dir: string;
  #seq = 0;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Creates the directory and returns what a previous run left, oldest first; unreadable files are returned with text undefined. */
  open(): Array<{ file: string; text: string | undefined }> {
    mkdirSync(this.dir, { recursive: true });
    const names = readdirSync(this.dir);
    // Half-written temporaries of a crashed run.
    for (const n of names) if (n.endsWith('.tmp')) rmSync(join(this.dir, n), { force: true });
    const items = names.filter((n) => NAME.test(n)).sort();
    if (items.length) this.#seq = Number(NAME.exec(items.at(-1)!)![1]) + 1;
    return items.map((file) => {
      try {
        return { file, text: readFileSync(join(this.dir, file), 'utf8') };
      } catch {
        return { file, text: undefined };
      }
    });
  }

  write(text: string): string {
    const file = `item-${String(this.#seq++).padStart(16, '0')}.json`;
    const tmp = join(this.dir, `${file}.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, join(this.dir, file));
    return file;
  }

  remove(file: string): void {
    rmSync(join(this.dir, file), { force: true });
  }
}
