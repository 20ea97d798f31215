import type { MikroORM } from '@mikro-orm/postgresql';
import { Flattr, OAuthClient, Thing, User, periodOf, type ThingEntity, type UserEntity } from '../../src/entities/index.js';
import type { Clock } from '../../src/config/clock.js';
import { issueAccessToken, generateCredential, sha256Hex, type Scope } from '../../src/services/tokens.js';
import { createThing, type NewThing } from '../../src/services/things.js';

/** Direct inserts through the entities, for arranging a test's data quickly (no password hashing). */
export class Fixtures {
  private counter = 0;
  private clientId: number | null = null;

  constructor(
    private readonly orm: MikroORM,
    private readonly clock: Clock,
  ) {}

  async user(overrides: Partial<UserEntity> = {}): Promise<UserEntity> {
    const em = this.orm.em.fork();
    const n = ++this.counter;
    const user = em.create(User, {
      username: `user${n}`,
      email: `user${n}@example.org`,
      passwordHash: null,
      registeredAt: this.clock.now(),
      ...overrides,
    } as never);
    await em.flush();
    return user as UserEntity;
  }

  async thing(owner: UserEntity, input: NewThing = {}): Promise<ThingEntity> {
    const em = this.orm.em.fork();
    const n = ++this.counter;
    return createThing(em, this.clock, owner.id, { url: `https://example.org/things/${n}`, title: `Thing ${n}`, ...input });
  }

  async flattr(user: UserEntity, thing: ThingEntity, at: Date = this.clock.now()): Promise<void> {
    const em = this.orm.em.fork();
    em.create(Flattr, { user: em.getReference(User, user.id), thing: em.getReference(Thing, thing.id), createdAt: at, period: periodOf(at) });
    await em.flush();
  }

  async token(user: UserEntity, scopes: Scope[] = []): Promise<string> {
    const em = this.orm.em.fork();
    if (this.clientId === null) {
      const client = em.create(OAuthClient, {
        clientId: generateCredential(),
        clientSecretHash: sha256Hex('secret'),
        name: 'Test app',
        callbackUrls: ['http://localhost/callback'],
        createdAt: this.clock.now(),
      });
      await em.flush();
      this.clientId = client.id;
    }
    return issueAccessToken(em, this.clock, { userId: user.id, clientId: this.clientId, scopes });
  }
}
