/* arena.c: being written. */
