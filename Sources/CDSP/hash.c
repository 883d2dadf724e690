/* hash.c — 128-bit non-cryptographic content hash (see hash.h). */
#define _POSIX_C_SOURCE 200809L
#include "cdsp/hash.h"
#include "message.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct hasher {
    uint64_t a, b, length;
    unsigned char tail[8];
    size_t tail_len;
} hasher;

static const uint64_t P1 = 0x9E3779B185EBCA87ULL, P2 = 0xC2B2AE3D27D4EB4FULL;
static const uint64_t P3 = 0x165667B19E3779F9ULL, P4 = 0x27D4EB2F165667C5ULL;

static inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static inline void mix(hasher *h, uint64_t w) {
    h->a = rotl(h->a ^ (w * P1), 31) * P2;
    h->b = rotl(h->b + (w ^ P3), 27) * P4 + h->a;
}

static inline uint64_t load64(const unsigned char *p) {
    uint64_t w = 0;
    for (int i = 7; i >= 0; i--) w = (w << 8) | p[i];   /* little-endian, whatever the machine */
    return w;
}

static void hasher_init(hasher *h) {
    memset(h, 0, sizeof *h);
    h->a = 0x243F6A8885A308D3ULL;
    h->b = 0x13198A2E03707344ULL;
}

static void hasher_update(hasher *h, const unsigned char *p, size_t n) {
    h->length += n;
    while (h->tail_len > 0 && n > 0) {
        h->tail[h->tail_len++] = *p++;
        n--;
        if (h->tail_len == 8) { mix(h, load64(h->tail)); h->tail_len = 0; }
    }
    while (n >= 8) { mix(h, load64(p)); p += 8; n -= 8; }
    while (n > 0) { h->tail[h->tail_len++] = *p++; n--; }
}

static uint64_t fmix(uint64_t k) {
    k ^= k >> 33; k *= 0xFF51AFD7ED558CCDULL;
    k ^= k >> 33; k *= 0xC4CEB9FE1A85EC53ULL;
    k ^= k >> 33;
    return k;
}

static cdsp_hash128 hasher_final(hasher *h) {
    uint64_t t = 0;
    for (size_t i = 0; i < h->tail_len; i++) t |= (uint64_t)h->tail[i] << (8 * i);
    mix(h, t ^ ((uint64_t)h->tail_len << 56));
    mix(h, h->length);
    cdsp_hash128 r = {fmix(h->a ^ rotl(h->b, 17)), fmix(h->b + h->a * P3)};
    return r;
}

cdsp_hash128 cdsp_hash_bytes(const void *data, size_t length) {
    hasher h;
    hasher_init(&h);
    if (data) hasher_update(&h, data, length);
    return hasher_final(&h);
}

cdsp_status cdsp_hash_file(const char *path, cdsp_hash128 *out, char *msg, size_t msg_len) {
    if (!path || !out) return CDSP_ERR_INVALID_ARGUMENT;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        cdsp_message(msg, msg_len, "%s", strerror(e));
        return e == ENOENT ? CDSP_ERR_FILE_NOT_FOUND : CDSP_ERR_FILE_UNREADABLE;
    }
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = malloc(CHUNK);
    if (!buf) { fclose(f); return CDSP_ERR_NO_MEMORY; }
    hasher h;
    hasher_init(&h);
    size_t got;
    while ((got = fread(buf, 1, CHUNK, f)) > 0) hasher_update(&h, buf, got);
    int failed = ferror(f);
    int e = errno;
    free(buf);
    fclose(f);
    if (failed) {
        cdsp_message(msg, msg_len, "read error: %s", strerror(e));
        return CDSP_ERR_FILE_UNREADABLE;
    }
    *out = hasher_final(&h);
    return CDSP_OK;
}
