/* tests/gpu/gpu.h - checks of the GPU runner (tests/gpu/runner.c) that are
 * not kernel files: each returns true, or false with why. */
#ifndef LPVM_TESTS_GPU_H
#define LPVM_TESTS_GPU_H

#include <stdbool.h>
#include <stddef.h>

#include "lpvm.h"

/* workspace.c: the workspace pool's zeroing, growth and streams */
bool gpu_workspace_pool(lpvm_context *ctx, char *why, size_t wn);

#endif
