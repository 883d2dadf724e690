#include "cdsp/status.h"
#include "message.h"

#include <stdarg.h>
#include <stdio.h>

const char *cdsp_status_string(cdsp_status s)
{
    switch (s) {
    case CDSP_OK: return "ok";
    case CDSP_ERR_INVALID_ARGUMENT: return "invalid argument";
    case CDSP_ERR_NO_MEMORY: return "out of memory";
    case CDSP_ERR_FULL: return "queue full";
    case CDSP_ERR_EMPTY: return "queue empty";
    case CDSP_ERR_FILE_NOT_FOUND: return "file not found";
    case CDSP_ERR_FILE_UNREADABLE: return "file cannot be opened";
    case CDSP_ERR_FILE_UNSUPPORTED: return "unsupported or unrecognised audio format";
    case CDSP_ERR_FILE_CORRUPT: return "corrupt audio data";
    case CDSP_ERR_FILE_TRUNCATED: return "file is truncated";
    case CDSP_ERR_FILE_EMPTY: return "file has no audio frames";
    case CDSP_ERR_FILE_WRITE: return "cannot write output file";
    case CDSP_ERR_RESAMPLE: return "sample-rate conversion failed";
    case CDSP_ERR_TOO_LONG: return "audio longer than the configured maximum";
    case CDSP_ERR_DEVICE_NOT_FOUND: return "no such sound device";
    case CDSP_ERR_DEVICE_BUSY: return "sound device busy";
    case CDSP_ERR_DEVICE_UNSUPPORTED: return "sound device cannot do what was asked";
    case CDSP_ERR_DEVICE_FAILED: return "sound device failed";
    case CDSP_ERR_DEVICE_TIMEOUT: return "sound device stopped taking audio";
    }
    return "unknown status";
}

void cdsp_message(char *msg, size_t len, const char *fmt, ...)
{
    if (!msg || !len) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, len, fmt, ap);
    va_end(ap);
}
