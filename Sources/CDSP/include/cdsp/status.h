/*
 * status.h — the one status enum of CDSP.
 *
 * Every fallible CDSP call returns (or fills in) a cdsp_status: CDSP_OK is 0, errors are negative.
 * `process`-style calls cannot fail: they validate in `create` and in setters.
 * Thread: any. Real-time safe: yes (cdsp_status_string returns a static string).
 */
#ifndef CDSP_STATUS_H
#define CDSP_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cdsp_status {
    CDSP_OK = 0,
    CDSP_ERR_INVALID_ARGUMENT = -1,   /* a parameter is out of range or NULL */
    CDSP_ERR_NO_MEMORY = -2,          /* allocation failed in create */
    CDSP_ERR_FULL = -3,               /* a ring or queue is full (counted, never waited on) */
    CDSP_ERR_EMPTY = -4,              /* nothing to read */
    CDSP_ERR_FILE_NOT_FOUND = -10,    /* the file does not exist */
    CDSP_ERR_FILE_UNREADABLE = -11,   /* exists but cannot be opened (permissions, a directory) */
    CDSP_ERR_FILE_UNSUPPORTED = -12,  /* not an audio format libsndfile can decode */
    CDSP_ERR_FILE_CORRUPT = -13,      /* decoding failed part way, or the header lies */
    CDSP_ERR_FILE_TRUNCATED = -14,    /* fewer frames than the header promised */
    CDSP_ERR_FILE_EMPTY = -15,        /* no audio frames */
    CDSP_ERR_FILE_WRITE = -16,        /* cannot create or write the output file */
    CDSP_ERR_RESAMPLE = -20,          /* libsamplerate reported an error */
    CDSP_ERR_TOO_LONG = -21,          /* the audio is longer than the configured maximum */
    CDSP_ERR_DEVICE_NOT_FOUND = -30,  /* no sound device (ALSA PCM) of that name */
    CDSP_ERR_DEVICE_BUSY = -31,       /* the device is in use by another program */
    CDSP_ERR_DEVICE_UNSUPPORTED = -32,/* the device cannot do the rate, format or channels asked for */
    CDSP_ERR_DEVICE_FAILED = -33,     /* the device failed (unplugged, its server gone, an I/O error) */
    CDSP_ERR_DEVICE_TIMEOUT = -34     /* the device took no audio for longer than the time-out */
} cdsp_status;

/* A short English description of `s`. Never NULL. */
const char *cdsp_status_string(cdsp_status s);

#ifdef __cplusplus
}
#endif
#endif
