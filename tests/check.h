/* A tiny test harness: CHECK reports file:line and counts; check_summary prints the closing
   line "N passed, M failed[, K skipped]" that test.sh reads, and returns the exit status. */
#ifndef EVMJIT_TESTS_CHECK_H
#define EVMJIT_TESTS_CHECK_H
#include <stdio.h>

static long check_passed, check_failed, check_skipped;

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (cond) {                                                                          \
            check_passed++;                                                                  \
        } else {                                                                             \
            check_failed++;                                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);         \
        }                                                                                    \
    } while (0)

/* CHECK with a printf-style explanation on failure. */
#define CHECKF(cond, ...)                                                                    \
    do {                                                                                     \
        if (cond) {                                                                          \
            check_passed++;                                                                  \
        } else {                                                                             \
            check_failed++;                                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);         \
            fprintf(stderr, __VA_ARGS__);                                                    \
            fputc('\n', stderr);                                                             \
        }                                                                                    \
    } while (0)

/* Count a skipped check, with the reason printed. */
#define SKIP(...)                                                                            \
    do {                                                                                     \
        check_skipped++;                                                                     \
        fprintf(stderr, "SKIP: ");                                                           \
        fprintf(stderr, __VA_ARGS__);                                                        \
        fputc('\n', stderr);                                                                 \
    } while (0)

static inline int check_summary(void) {
    if (check_skipped)
        printf("%ld passed, %ld failed, %ld skipped\n", check_passed, check_failed,
               check_skipped);
    else
        printf("%ld passed, %ld failed\n", check_passed, check_failed);
    return check_failed ? 1 : 0;
}
#endif
