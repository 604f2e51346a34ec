/*
 * pictures.h - the program's picture table (pictures.c), for program.c.
 */
#ifndef SKY_PICTURES_H
#define SKY_PICTURES_H

#include "graph.h"
#include "program.h"

/* Copies the declared pictures out of the compile arena into the program. */
sky_status pictures_copy(sky_program *p, const graph_result *in);
/* Frees what pictures_copy allocated (the program itself stays). */
void pictures_free(sky_program *p);

#endif
