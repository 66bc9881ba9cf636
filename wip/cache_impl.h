/* wip/cache_impl.h: spliced into evmjit_cache.h. Intentionally empty; kept only until the
   artifact-store fragments that still include it are spliced too. */
