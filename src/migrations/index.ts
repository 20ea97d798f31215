import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261128000000Initial } from './Migration20261128000000Initial.js';
import { Migration20261128120000OAuth } from './Migration20261128120000OAuth.js';
import { Migration20261129010000Search } from './Migration20261129010000Search.js';
import { Migration20261129020000Stats } from './Migration20261129020000Stats.js';
import { Migration20261129030000FlattrUserCount } from './Migration20261129030000FlattrUserCount.js';
import { Migration20261129040000SearchWindows } from './Migration20261129040000SearchWindows.js';
import { Migration20261129050000SearchCounts } from './Migration20261129050000SearchCounts.js';
import { Migration20261129060000SearchWindowsLive } from './Migration20261129060000SearchWindowsLive.js';
import { Migration20261129070000SearchLanguageCategory } from './Migration20261129070000SearchLanguageCategory.js';
import { Migration20261130010000WriteBounds } from './Migration20261130010000WriteBounds.js';
import { Migration20261205010000Jobs } from './Migration20261205010000Jobs.js';
import { Migration20261205010000LiveEvents } from './Migration20261205010000LiveEvents.js';
import { Migration20261205020000SearchChanges } from './Migration20261205020000SearchChanges.js';

/** Every migration in order. Listed statically because files discovered on disk do not load inside vitest. */
export const migrationsList: MigrationObject[] = [
  { name: 'Migration20261128000000Initial', class: Migration20261128000000Initial },
  { name: 'Migration20261128120000OAuth', class: Migration20261128120000OAuth },
  { name: 'Migration20261129010000Search', class: Migration20261129010000Search },
  { name: 'Migration20261129020000Stats', class: Migration20261129020000Stats },
  { name: 'Migration20261129030000FlattrUserCount', class: Migration20261129030000FlattrUserCount },
  { name: 'Migration20261129040000SearchWindows', class: Migration20261129040000SearchWindows },
  { name: 'Migration20261129050000SearchCounts', class: Migration20261129050000SearchCounts },
  { name: 'Migration20261129060000SearchWindowsLive', class: Migration20261129060000SearchWindowsLive },
  { name: 'Migration20261129070000SearchLanguageCategory', class: Migration20261129070000SearchLanguageCategory },
  { name: 'Migration20261130010000WriteBounds', class: Migration20261130010000WriteBounds },
  { name: 'Migration20261205010000Jobs', class: Migration20261205010000Jobs },
  { name: 'Migration20261205010000LiveEvents', class: Migration20261205010000LiveEvents },
  { name: 'Migration20261205020000SearchChanges', class: Migration20261205020000SearchChanges },
];
