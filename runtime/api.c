/* runtime/api.c - small public entry points shared by everything else:
 * status strings, version, freeing returned memory. */
#include <stdlib.h>

#include "runtime/runtime.h"

#define LPVM_VERSION_STRING "0.1.0"

const char *lpvm_status_string(lpvm_status s)
{
    switch (s) {
    case LPVM_OK: return "ok";
    case LPVM_ERR_INVALID: return "invalid argument";
    case LPVM_ERR_SOURCE: return "source error";
    case LPVM_ERR_NOMEM: return "out of memory";
    case LPVM_ERR_NO_GPU: return "no usable GPU";
    case LPVM_ERR_TOOLCHAIN: return "toolchain error";
    case LPVM_ERR_RUNTIME: return "runtime fault";
    }
    return "unknown status";
}

const char *lpvm_version(void) { return LPVM_VERSION_STRING; }

void lpvm_free(void *p) { free(p); }
