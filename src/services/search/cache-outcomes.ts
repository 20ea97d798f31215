/**
 * How the search caches of this process answered, for /metrics: a cached result brought up to date from the change
 * log (`corrected`) or read again from the things (`counted` for counts, `scored` for relevance levels).
 */
export const searchCacheOutcomes = { corrected: 0, counted: 0, levelsCorrected: 0, scored: 0 };
