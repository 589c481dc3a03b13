/* Per-layer progress, as Docker shows it: on a terminal (stderr) one line
 * per layer redrawn in place ("a1b2c3d4e5f6: Downloading [====>    ]
 * 12.3MB/45.6MB"); otherwise one plain line on out when a layer is done
 * ("a1b2c3d4e5f6: Pull complete"). Internal to src/registry. */
#ifndef VESSEL_REGISTRY_PROGRESS_H
#define VESSEL_REGISTRY_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct vs_progress;
struct vs_progress *vs_progress_new(FILE *out, bool quiet);
void vs_progress_free(struct vs_progress *p);
/* A line for the layer whose digest hex is id; returns its number. */
size_t vs_progress_add(struct vs_progress *p, const char *id, const char *status);
void vs_progress_update(struct vs_progress *p, size_t line, const char *status, int64_t done,
                        int64_t total);
/* A final status ("Pull complete", "Pushed"). */
void vs_progress_done(struct vs_progress *p, size_t line, const char *status);
/* Redraws (at most every 100 ms unless force). */
void vs_progress_flush(struct vs_progress *p, bool force);

#endif
