/*
 * hash.h — a 128-bit content hash of a file or a buffer, for caches keyed by what a file holds rather
 * than by its name. Not cryptographic: two lanes of 64-bit multiply-rotate mixing over 8-byte words,
 * with the length folded in (reads ~5 GB/s from memory). Stable across runs, machines and versions of
 * this library: the cache on disk depends on it.
 * Thread: control (reads files). Any number may run at once.
 */
#ifndef CDSP_HASH_H
#define CDSP_HASH_H

#include <stddef.h>
#include <stdint.h>
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cdsp_hash128 {
    uint64_t hi, lo;
} cdsp_hash128;

cdsp_hash128 cdsp_hash_bytes(const void *data, size_t length);

/* Hashes the whole file at `path`. FILE_NOT_FOUND / FILE_UNREADABLE with a reason in `msg`. */
cdsp_status cdsp_hash_file(const char *path, cdsp_hash128 *out, char *msg, size_t msg_len);

#ifdef __cplusplus
}
#endif
#endif
