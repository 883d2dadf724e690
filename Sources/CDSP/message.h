/* Private: filling the caller's message buffer (the `char *msg, size_t msg_len` of fallible calls). */
#ifndef CDSP_MESSAGE_H
#define CDSP_MESSAGE_H
#include <stddef.h>

/* printf into msg (NULL or 0 length: nothing). */
void cdsp_message(char *msg, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#endif
