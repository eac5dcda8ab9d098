// evpseal: OpenSSL's ChaCha20-Poly1305 per message, as a packet is sealed and opened: a new 96-bit nonce
// (EVP_EncryptInit_ex / EVP_DecryptInit_ex with only the IV), the update, the final and the tag (get on
// seal, set and verified on open). `openssl speed -evp` streams one context without any of that, and on
// OpenSSL 3.0 `-aead` does too for this cipher (docs/performance.md, "Substrate crypto", session 25).
// Each line: operation, bytes, MB/s and ns per message on this thread's CPU time (the divisor `openssl
// speed` uses), and the same on wall-clock time.
//
// Usage: evpseal [BYTES [SECONDS]]   (defaults 1420 and 3); run by jmh-benchmarks/crypto-bench.sh.
// Build: gcc -O2 -o evpseal evpseal.c -lcrypto
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double clock_of(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static EVP_CIPHER_CTX *context(const unsigned char *key, int enc)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (c == NULL || EVP_CipherInit_ex(c, EVP_chacha20_poly1305(), NULL, NULL, NULL, enc) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) != 1 || EVP_CipherInit_ex(c, NULL, NULL, key, NULL, enc) != 1)
    {
        fprintf(stderr, "evpseal: no ChaCha20-Poly1305 in this OpenSSL\n");
        exit(1);
    }
    return c;
}

static void nonce(unsigned char *n, uint64_t counter)
{
    memset(n, 0, 12);
    for (int i = 0; i < 8; i++) n[4 + i] = (unsigned char) (counter >> (8 * i));
}

int main(int argc, char **argv)
{
    const int bytes = argc > 1 ? atoi(argv[1]) : 1420;
    const double seconds = argc > 2 ? atof(argv[2]) : 3;
    if (bytes <= 0 || bytes > 65536 || seconds <= 0)
    {
        fprintf(stderr, "usage: evpseal [BYTES (1..65536) [SECONDS]]\n");
        return 2;
    }
    unsigned char key[32], n[12], tag[16];
    for (int i = 0; i < 32; i++) key[i] = (unsigned char) (i * 7 + 1);
    unsigned char *plain = malloc((size_t) bytes), *sealed = malloc((size_t) bytes), *opened = malloc((size_t) bytes);
    if (plain == NULL || sealed == NULL || opened == NULL) return 1;
    for (int i = 0; i < bytes; i++) plain[i] = (unsigned char) i;
    EVP_CIPHER_CTX *seal = context(key, 1), *open = context(key, 0);
    for (int op = 0; op < 2; op++)
    {
        long count = 0, failures = 0;
        int out;
        const double wall0 = clock_of(CLOCK_MONOTONIC), cpu0 = clock_of(CLOCK_THREAD_CPUTIME_ID);
        double wall = wall0;
        while (wall - wall0 < seconds)
        {
            for (int k = 0; k < 1000; k++, count++)
            {
                nonce(n, (uint64_t) count);
                if (op == 0)
                {
                    if (EVP_EncryptInit_ex(seal, NULL, NULL, NULL, n) != 1 || EVP_EncryptUpdate(seal, sealed, &out, plain, bytes) != 1 ||
                        EVP_EncryptFinal_ex(seal, sealed + out, &out) != 1 ||
                        EVP_CIPHER_CTX_ctrl(seal, EVP_CTRL_AEAD_GET_TAG, 16, tag) != 1)
                        failures++;
                }
                else
                {
                    // every message opened is the one sealed last with nonce 0 (re-sealed below), so its tag verifies
                    nonce(n, 0);
                    if (EVP_DecryptInit_ex(open, NULL, NULL, NULL, n) != 1 || EVP_DecryptUpdate(open, opened, &out, sealed, bytes) != 1 ||
                        EVP_CIPHER_CTX_ctrl(open, EVP_CTRL_AEAD_SET_TAG, 16, tag) != 1 ||
                        EVP_DecryptFinal_ex(open, opened + out, &out) != 1)
                        failures++;
                }
            }
            wall = clock_of(CLOCK_MONOTONIC);
        }
        const double cpu = clock_of(CLOCK_THREAD_CPUTIME_ID) - cpu0;
        wall -= wall0;
        printf("%s %d B: %.0f MB/s, %.0f ns per message (CPU time); %.0f MB/s, %.0f ns (wall-clock)\n", op == 0 ? "seal" : "open",
            bytes, count * (double) bytes / cpu / 1e6, cpu / count * 1e9, count * (double) bytes / wall / 1e6, wall / count * 1e9);
        if (failures > 0)
        {
            fprintf(stderr, "evpseal: %ld of %ld messages failed\n", failures, count);
            return 1;
        }
        if (op == 0)
        {
            // seal once with nonce 0 for the open loop
            nonce(n, 0);
            EVP_EncryptInit_ex(seal, NULL, NULL, NULL, n);
            EVP_EncryptUpdate(seal, sealed, &out, plain, bytes);
            EVP_EncryptFinal_ex(seal, sealed + out, &out);
            EVP_CIPHER_CTX_ctrl(seal, EVP_CTRL_AEAD_GET_TAG, 16, tag);
        }
    }
    if (memcmp(plain, opened, (size_t) bytes) != 0)
    {
        fprintf(stderr, "evpseal: the opened message differs from the sealed one\n");
        return 1;
    }
    return 0;
}
