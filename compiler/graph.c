/* graph.c: being written. */
