/* evmjit command-line tool: run state tests, benchmarks and the artifact store.
   Subcommands are added as the library grows; `evmjit --help` lists them. */
#include <stdio.h>
#include <string.h>

#define EVMJIT_CACHE_IMPLEMENTATION
#include "evmjit_cache.h"

static void usage(FILE *out) {
    fprintf(out, "usage: evmjit COMMAND [ARGS...]\n"
                 "commands:\n"
                 "  keccak TEXT    print the keccak-256 of TEXT\n"
                 "  --help         this text\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "keccak") && argc == 3) {
        evmjit_bytes32 h = evmjit_keccak256((const uint8_t *)argv[2], strlen(argv[2]));
        for (int i = 0; i < 32; i++) printf("%02x", h.bytes[i]);
        printf("\n");
        return 0;
    }
    fprintf(stderr, "evmjit: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
