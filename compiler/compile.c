/* compile.c: being written. */
