import { TransactionContext, UnitOfWork } from '@mikro-orm/core';

/**
 * Keeps MikroORM from switching on Node's process-wide promise hooks.
 *
 * `em.transactional()` runs its callback inside `TransactionContext.create()`, an `AsyncLocalStorage.run()`. On
 * Node 20 the first `run()` of any AsyncLocalStorage enables async hooks with promise hooks for the rest of the
 * process, so every promise of every request (reads included) then pays an init hook and context tracking: 3–5% of
 * the CPU of a read in the bench profiles (bench/README.md). The storage only serves contextual entity managers (the
 * global `orm.em` resolving to the transaction's fork); this project never uses them: every request forks its own
 * entity manager (`allowGlobalContext: false`) and passes it, and the transaction's fork, explicitly. Forks are
 * created with `useContext: false` and never consult the storage.
 *
 * So the transaction runs without it. Nested `transactional()` calls on the fork still join the outer transaction:
 * they find it on the fork itself (`em.getTransactionContext()`), not in the storage. The same goes for the flush
 * (commitWithoutAsyncContext below).
 */
export function withoutTransactionAsyncContext(): void {
  TransactionContext.create = <T>(_em: unknown, next: (...args: unknown[]) => T): T => next();
  UnitOfWork.prototype.commit = commitWithoutAsyncContext;
}

interface UnitOfWorkInternals {
  working: boolean;
  flushQueue: (() => Promise<void>)[];
  doCommit(): Promise<void>;
  postCommitCleanup(): void;
}

/**
 * `UnitOfWork.commit` of MikroORM 6.6.16 (the pinned version) without its `insideFlush` AsyncLocalStorage, the other
 * storage that switches the hooks on at the first flush. That storage only tells flush event subscribers (hooks
 * that flush again from inside a flush) apart; this project registers none, so a flush that arrives while the unit
 * of work is working is queued behind it exactly as MikroORM queues it.
 */
async function commitWithoutAsyncContext(this: UnitOfWorkInternals): Promise<void> {
  if (this.working) {
    return new Promise((resolve, reject) => {
      this.flushQueue.push(() => this.doCommit().then(resolve, reject));
    });
  }
  try {
    this.working = true;
    await this.doCommit();
    while (this.flushQueue.length) await this.flushQueue.shift()!();
  } finally {
    this.postCommitCleanup();
    this.working = false;
  }
}

/** Whether MikroORM's transaction storage has switched Node's async hooks on (tests, /metrics). */
export function transactionAsyncContextEnabled(): boolean {
  return (TransactionContext as unknown as { storage: { enabled?: boolean } }).storage.enabled === true;
}
